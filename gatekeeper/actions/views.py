"""Read models: the CR JSON of SPEC §10, shared by the API, the pages and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from gatekeeper.actions import review as rv
from gatekeeper.actions.changes import load
from gatekeeper.actions.context import Services
from gatekeeper.actions.status import of_change
from gatekeeper.ledger.legacy import with_code
from gatekeeper.policy.approvals import REJECT, Signature, counting
from gatekeeper.policy.emergency import retro_overdue
from gatekeeper.policy.review import Review
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeRequest


def is_overdue(cr: ChangeRequest, now: datetime | None = None) -> bool:
    """An emergency CR still awaiting retrospective approval after its deadline (SPEC §2): the register's
    one definition (``policy.emergency.retro_overdue``), for a CR not yet ratified."""
    return retro_overdue(bool(cr.emergency), cr.emergency_deadline, None, cr.state, now or datetime.now(UTC))


def signature_json(a: Signature, counts: bool) -> dict[str, Any]:
    """One signature in the change JSON (SPEC §10 ``approvals``); ``counts``: it fills a slot now."""
    return {"username": a.username, "name": a.name, "group": a.group, "decision": a.decision, "meaning": a.meaning,
            "comment": a.comment, "signed_at": a.signed_at, "revision": a.revision, "fingerprint": a.fingerprint,
            "ticket": a.ticket, "title": a.title, "target": a.target, "counts": counts, "log_seq": a.log_seq}


def summary(services: Services, cr: ChangeRequest) -> dict[str, Any]:
    return {
        "id": cr.id, "url": services.change_url(cr.id or 0), "repo": cr.repo, "target": cr.target,
        "topic_ref": cr.topic_ref, "title": cr.title, "ticket": cr.ticket, "ticket_state": cr.ticket_state,
        "state": cr.state,
        "requested_by": cr.requested_by, "requested_at": cr.requested_at, "categories": q.loads(cr.categories),
        "financial": cr.financial, "revision": cr.current_revision, "emergency": cr.emergency,
        "emergency_deadline": cr.emergency_deadline, "overdue": is_overdue(cr),
        "deployed_at": cr.deployed_at, "deployed_commit": cr.deployed_commit,
    }


def change_json(services: Services, change_id: int, session: Session | None = None) -> dict[str, Any]:
    if session is None:
        with services.store.read() as s:
            return change_json(services, change_id, s)
    return change_and_review(services, change_id, session)[0]


def change_and_review(services: Services, change_id: int, session: Session) -> tuple[dict[str, Any], Review]:
    """The CR JSON and the review it was made from (the change page needs both: asked once)."""
    cr = load(session, change_id)
    revs = q.revisions(session, change_id)
    rev = next(r for r in revs if r.number == cr.current_revision)
    signatures = q.approvals(session, change_id)
    review = rv.review(services, session, cr, rev, revisions=revs, approvals=signatures)  # rows read once
    files = q.files(session, rev.id or 0)
    out = summary(services, cr)
    out.update({
        "emergency_reason": cr.emergency_reason, "approved_at": cr.approved_at,
        "retro_approved_at": cr.retro_approved_at, "deployed_by": cr.deployed_by,
        "fingerprint": rev.fingerprint,
        "description": rev.description or "",
        "revisions": [{"number": r.number, "fingerprint": r.fingerprint, "head": r.head, "base": r.base,
                       "pushed_by": r.pushed_by, "pushed_at": r.pushed_at, "ticket": r.ticket, "title": r.title,
                       "description": r.description or "",
                       "commits": [{k: c.get(k) for k in ("sha", "author_name", "author_email", "committer_name",
                                                           "committer_email", "co_authors", "subject",
                                                           "committed_at")} for c in q.loads(r.commits)]}
                      for r in revs],
        "files": [{"path": f.path, "status": f.status, "categories": q.loads(f.categories), "old_blob": f.old_blob,
                   "new_blob": f.new_blob, "old_mode": f.old_mode, "new_mode": f.new_mode} for f in files],
        "findings": [with_code(f) for f in q.loads(rev.findings)],
        "semantic_diff": q.loads(rev.semantic_diff),
        "approvals_required": [r.to_dict() for r in review.rules],
        "approvals_missing": [{"group": g, "count": n} for g, n in review.missing],
        "approvals": [signature_json(a, bool(counting([a], rev.fingerprint, rev.ticket))
                                     and review.counts(a.username, a.group)) for a in signatures],
        "sod_findings": [r.to_payload() for r in (*review.author_findings, *review.findings)],
        "meanings": rv.meanings_of(services, cr),
        "reject_meanings": rv.meanings_of(services, cr, REJECT),
        "status": of_change(session, cr, review).to_dict(),
        "log_seqs": log.seqs_for_change(session, change_id),
    })
    return out, review
