"""The change register (SPEC §9): one row per CR, columns in the spec's order.

A CR belongs to a period when it was requested, approved, deployed or retro-approved in it, so a
change requested before the period and deployed inside it is never missing from the population.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from gatekeeper.actions.context import Services
from gatekeeper.actions.review import rules_of
from gatekeeper.actions.views import is_overdue
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import Approval, ChangeRequest, Revision

COLUMNS = (
    "change_id", "repo", "target", "title", "categories", "financial", "ticket", "requested_by", "requested_at",
    "revision", "fingerprint", "approvals_required", "approvals", "approved_at", "sod_findings", "deployed_at",
    "deployed_by", "deployed_commit", "emergency", "emergency_reason", "retro_approved_at", "retro_overdue",
    "state", "log_seqs",
)


def in_period(start: str, end: str) -> Any:
    """SQL condition: any of the CR's key moments falls in [start, end)."""
    return or_(*[(c >= start) & (c < end) for c in (
        col(ChangeRequest.requested_at), col(ChangeRequest.approved_at), col(ChangeRequest.deployed_at),
        col(ChangeRequest.retro_approved_at))])


def approvals_text(approvals: Sequence[Approval]) -> str:
    return "; ".join(f"{a.username} ({a.group}, {a.meaning}, {a.signed_at})" for a in approvals)


def row(services: Services, session: Session, cr: ChangeRequest, now: str) -> dict[str, Any]:
    rev = session.exec(select(Revision).where(Revision.change_id == cr.id,
                                              Revision.number == cr.current_revision)).one()
    signed = [a for a in q.approvals(session, cr.id or 0)
              if a.decision == "approve" and a.fingerprint == rev.fingerprint]
    rules = rules_of(services, cr)
    return {
        "change_id": cr.id, "repo": cr.repo, "target": cr.target, "title": cr.title,
        "categories": q.loads(cr.categories), "financial": cr.financial, "ticket": cr.ticket,
        "requested_by": cr.requested_by, "requested_at": cr.requested_at, "revision": rev.number,
        "fingerprint": rev.fingerprint,
        "approvals_required": [r.to_dict() for r in rules],
        "approvals": approvals_text(signed), "approved_at": cr.approved_at,
        "sod_findings": q.loads(rev.sod_findings), "deployed_at": cr.deployed_at, "deployed_by": cr.deployed_by,
        "deployed_commit": cr.deployed_commit, "emergency": cr.emergency, "emergency_reason": cr.emergency_reason,
        "retro_approved_at": cr.retro_approved_at, "retro_overdue": is_overdue(cr, now), "state": cr.state,
        "log_seqs": log.seqs_for_change(session, cr.id or 0),
    }


def rows(services: Services, start: str, end: str, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Register rows for the period in change_id order, read in batches (memory stays flat)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = 0
    while True:
        with services.store.read() as session:
            crs = session.exec(select(ChangeRequest).where(in_period(start, end), col(ChangeRequest.id) > after)
                               .order_by(col(ChangeRequest.id)).limit(batch)).all()
            if not crs:
                return
            for cr in crs:
                yield row(services, session, cr, now)
            after = crs[-1].id or after


def flat(value: Any) -> str:
    """One CSV cell: booleans true/false, lists joined, rules as group×count, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        parts = []
        for v in value:
            parts.append(f"{v['group']}×{v['count']}" if isinstance(v, dict) and "group" in v else str(v))
        return " ".join(parts) if all(isinstance(v, int) for v in value) else "; ".join(parts)
    return str(value)
