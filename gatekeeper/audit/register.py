"""The change register (SPEC §9): one row per CR, columns in the spec's order; and the signatures.

A CR belongs to a period when it was requested, approved, deployed or retro-approved in it, so a
change requested before the period and deployed inside it is never missing from the population.
Rows are read in batches of CRs with one query per table and batch, so memory stays flat and a
100,000-CR export takes seconds (bench/register_bench.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, or_

from gatekeeper.actions.context import Services
from gatekeeper.config import Config
from gatekeeper.ledger.events import Reason
from gatekeeper.policy import emergency as em
from gatekeeper.policy.approvals import APPROVE, Signature, counting
from gatekeeper.policy.rules import merge_rules
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import Approval, ChangeLogRef, ChangeRequest, Revision
from gatekeeper.verifier.tables import (
    APPROVAL_COLUMNS,
    REGISTER_COLUMNS,
    RULES_FROM_CURRENT_POLICY,
    RULES_FROM_REVISION,
    TIME_COLUMNS,
    flat,
    memberships_text,
)

COLUMNS = REGISTER_COLUMNS


utc_now = log.utc_now  # now, in the stored timestamp format


def in_period(start: str, end: str) -> Any:
    """SQL condition: any of the CR's key moments falls in [start, end)."""
    return or_(*[(c >= start) & (c < end) for c in (
        col(ChangeRequest.requested_at), col(ChangeRequest.approved_at), col(ChangeRequest.deployed_at),
        col(ChangeRequest.retro_approved_at))])


def retro_overdue(cr: Any, now: str) -> bool:
    """The register's ``retro_overdue`` of a CR row (``policy.emergency.retro_overdue``)."""
    return em.retro_overdue(cr.emergency, cr.emergency_deadline, cr.retro_approved_at, cr.state, now)


def _rules(config: Config, categories_json: str) -> list[dict[str, object]]:
    """The merged approval rules of a CR's categories under today's policy (revisions recorded before
    ``revision.approvals_required`` existed)."""
    names = set(json.loads(categories_json or "[]"))
    return [r.to_dict() for r in merge_rules([c for c in config.categories if c.name in names])]


def _loads(text: str | None) -> Any:
    return json.loads(text) if text and text != "[]" else []


def _findings(text: str | None) -> list[str]:
    """A revision's SoD findings as the register shows them (SPEC §9: the sentences; the log has the codes)."""
    return [Reason.coerce(f).message for f in _loads(text)]


@contextmanager
def _session(services: Services, session: Session | None) -> Iterator[Session]:
    if session is not None:
        yield session
    else:
        with services.store.read() as s:
            yield s


_TABLES = SQLModel.metadata.tables
_CR, _REV, _APP = (_TABLES[t.__tablename__].c for t in (ChangeRequest, Revision, Approval))  # type: ignore[attr-defined]


# The CR columns the register reads, in this order (rows are unpacked as tuples: ~20x faster than
# attribute access on SQLAlchemy rows, which matters at 100,000 rows).
CR_FIELDS = ("id", "repo", "target", "title", "categories", "financial", "ticket", "requested_by", "requested_at",
             "current_revision", "approved_at", "deployed_at", "deployed_by", "deployed_commit", "emergency",
             "emergency_reason", "emergency_deadline", "retro_approved_at", "state", "ticket_state")


def _fetch(conn: Any, query: Any) -> list[tuple[Any, ...]]:
    """Run a Core query on the DB-API cursor: plain tuples, no Row objects (as ``store.log.rows``);
    at 100,000 CRs building Rows costs more than the queries."""
    compiled = query.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    args = tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def change_batches(services: Services, start: str, end: str, *, session: Session | None = None,
                   batch: int = 1000) -> Iterator[tuple[Session, list[tuple[Any, ...]]]]:
    """The period's CRs as tuples of ``CR_FIELDS`` in change_id order, a batch at a time.

    Core rows, not ORM objects: building 100,000 instances costs more than the whole CSV export.
    One session per batch unless one is given (the evidence pack reads one snapshot).
    """
    after = 0
    columns = [_CR[f] for f in CR_FIELDS]
    while True:
        with _session(services, session) as s:
            crs = _fetch(s.connection(), sa_select(*columns).where(in_period(start, end), _CR.id > after)
                         .order_by(_CR.id).limit(batch))
            if not crs:
                return
            yield s, crs
            after = crs[-1][0]


def _related(s: Session, ids: list[int], with_seqs: bool = True
             ) -> tuple[dict[tuple[int, int], tuple[str, str, str | None]],
                        dict[int, list[Signature]], dict[int, list[int]]]:
    """Revisions, approving signatures and log seqs of a batch of CRs (ids ascending): one query each.

    Queries take the id range rather than an IN list of 1,000 parameters (cheaper to compile and
    run); rows of CRs in the range but outside the period are dropped here.
    """
    conn, lo, hi, wanted = s.connection(), ids[0], ids[-1], set(ids)
    revs = {(cid, n): (fp, sod, req) for cid, n, fp, sod, req in _fetch(conn,
        sa_select(_REV.change_id, _REV.number, _REV.fingerprint, _REV.sod_findings, _REV.approvals_required)
        .where(_REV.change_id.between(lo, hi))) if cid in wanted}
    signed: dict[int, list[Signature]] = defaultdict(list)  # the first six fields of ``Signature``, in its order
    for cid, *approval in _fetch(conn,
            sa_select(_APP.change_id, _APP.username, _APP.group_name, _APP.meaning, _APP.signed_at, _APP.fingerprint,
                      _APP.ticket)
            .where(_APP.change_id.between(lo, hi), _APP.decision == APPROVE).order_by(_APP.id)):
        if cid in wanted:
            signed[cid].append(Signature(*approval))
    seqs: dict[int, list[int]] = defaultdict(list)
    for cid, seq in () if not with_seqs else _fetch(conn, sa_select(col(ChangeLogRef.change_id), col(ChangeLogRef.seq))
                                                   .where(col(ChangeLogRef.change_id).between(lo, hi))
                                                   .order_by(col(ChangeLogRef.seq))):
        if cid in wanted:
            seqs[cid].append(seq)
    return revs, signed, seqs


def rows(services: Services, start: str, end: str, *, now: str | None = None, session: Session | None = None,
         batch: int = 1000, log_seqs: bool = True) -> Iterator[dict[str, Any]]:
    """Register rows for the period in change_id order; ``now`` decides ``retro_overdue`` (injectable).

    ``log_seqs=False`` leaves ``log_seqs`` empty and skips its query (the largest: every log entry
    about every change) for readers that only count, such as the metrics.
    """
    now = now or utc_now()
    rules: dict[str, list[dict[str, object]]] = {}     # today's rules per category set (old revisions)
    recorded: dict[str, list[dict[str, object]]] = {}  # recorded rule sets, parsed once each
    categories: dict[str, list[str]] = {}  # the same few category sets recur on every row
    for s, crs in change_batches(services, start, end, session=session, batch=batch):
        revs, signed, seqs = _related(s, [cr[0] for cr in crs], log_seqs)
        for (cid, repo, target, title, cats, financial, ticket, requested_by, requested_at, revision, approved_at,
             deployed_at, deployed_by, deployed_commit, emergency, emergency_reason, deadline, retro_at,
             state, ticket_state) in crs:
            fp, sod, recorded_json = revs.get((cid, revision), ("", "", None))
            counted = counting(signed[cid], fp, ticket)  # only signatures of the current content and ticket count
            if cats not in categories:
                categories[cats] = _loads(cats)
            if recorded_json is None:  # recorded before migration 0007: today's policy, and the row says so
                if cats not in rules:
                    rules[cats] = _rules(services.config, cats)
                required, source = rules[cats], RULES_FROM_CURRENT_POLICY
            else:
                if recorded_json not in recorded:
                    recorded[recorded_json] = _loads(recorded_json)
                required, source = recorded[recorded_json], RULES_FROM_REVISION
            yield {
                "change_id": cid, "repo": repo, "target": target, "title": title,
                "categories": list(categories[cats]), "financial": bool(financial), "ticket": ticket,
                "requested_by": requested_by, "requested_at": requested_at, "revision": revision,
                "fingerprint": fp, "approvals_required": [dict(r) for r in required],
                "approvals_required_source": source,  # not a column: verification.txt and the report count it
                # SPEC §9: ``username (group, meaning, timestamp)``
                "approvals": "; ".join(f"{a.username} ({a.group}, {a.meaning}, {a.signed_at})" for a in counted),
                "approvals_given": counted,  # not a column: the ``Signature``s that count
                "approved_at": approved_at, "sod_findings": _findings(sod), "deployed_at": deployed_at,
                "deployed_by": deployed_by, "deployed_commit": deployed_commit, "emergency": bool(emergency),
                "emergency_reason": emergency_reason, "retro_approved_at": retro_at,
                "retro_overdue": em.retro_overdue(emergency, deadline, retro_at, state, now), "state": state,
                "log_seqs": seqs[cid], "ticket_state": ticket_state,
            }


def approval_rows(services: Services, start: str, end: str, *, session: Session | None = None,
                  batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every signature (approve or reject, any revision) of the period's CRs: ``approvals.csv`` (§10)."""
    for s, crs in change_batches(services, start, end, session=session, batch=batch):
        signed = q.signatures(s, col(Approval.change_id).in_([cr[0] for cr in crs]))
        yield from (approval_row(a) for a in sorted(signed, key=lambda a: a.change_id))  # stable: in signing order


def approval_row(a: Signature) -> dict[str, Any]:
    """A stored signature as its approvals.csv row (the pack's is ``verifier.projection.approval_row``)."""
    return {"change_id": a.change_id, "revision": a.revision, "fingerprint": a.fingerprint, "username": a.username,
            "name": a.name, "group": a.group, "decision": a.decision, "meaning": a.meaning, "comment": a.comment,
            "signed_at": a.signed_at, "memberships": memberships_text(_loads(a.memberships)), "log_seq": a.log_seq,
            "ticket": a.ticket}


# One definition each (verifier.tables), re-exported for the register's users.
__all__ = ["APPROVAL_COLUMNS", "COLUMNS", "REGISTER_COLUMNS", "RULES_FROM_CURRENT_POLICY", "RULES_FROM_REVISION",
           "TIME_COLUMNS", "approval_rows", "flat", "in_period", "memberships_text",
           "retro_overdue", "rows", "utc_now"]
