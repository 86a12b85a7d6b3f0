"""``exceptions.csv`` (SPEC §9, §10): what an auditor follows up, one row per finding.

Kinds: ``push.refused`` (one row per refused ref of a refused push), ``emergency`` (each
break-glass deployment), ``retro-overdue`` (an emergency CR not ratified by its deadline, or
ratified late), ``reconcile-gap`` and ``hook-drift`` (from ``audit.reconcile``), ``drift`` (a live
source that differs from the approved content, or cannot be read: ``drift.audit``),
``sign-refused`` (a signature refused for segregation of duties) and ``deploy-voided`` (a gate
decision git did not carry out). The rows one entry makes are ``verifier.tables``'s, shared with
the pack's projection. Refusals and
emergencies are read from the hash-chained log, so a row always points at the entry behind it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import Session, col, or_, select

from gatekeeper.audit.register import in_period, retro_overdue
from gatekeeper.ledger import events
from gatekeeper.ledger.entry import EMERGENCY_DEPLOYED, PUSH_REFUSED, SIGN_REFUSED
from gatekeeper.store.tables import ChangeLog, ChangeRequest, Deployment
from gatekeeper.verifier import tables


def _entries(session: Session, kind: str, start: str, end: str, batch: int = 1000) -> Iterator[ChangeLog]:
    after = 0
    while True:
        chunk = session.exec(select(ChangeLog).where(ChangeLog.kind == kind, col(ChangeLog.ts) >= start,
                                                     col(ChangeLog.ts) < end, col(ChangeLog.seq) > after)
                             .order_by(col(ChangeLog.seq)).limit(batch)).all()
        yield from chunk
        if len(chunk) < batch:
            return
        after = chunk[-1].seq


def refused(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in _entries(session, PUSH_REFUSED, start, end):
        yield from tables.refused_rows(e.seq, e.ts, e.actor, json.loads(e.payload))


def sign_refused(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in _entries(session, SIGN_REFUSED, start, end):
        p = json.loads(e.payload)
        cr = session.get(ChangeRequest, p.get("change_id")) if isinstance(p.get("change_id"), int) else None
        yield tables.sign_refused_row(e.seq, e.ts, e.actor, p, cr.repo if cr is not None else None)


def voided(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in _entries(session, events.DEPLOY_VOIDED, start, end):
        yield tables.voided_row(e.seq, e.ts, e.actor, json.loads(e.payload))


def emergencies(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in _entries(session, EMERGENCY_DEPLOYED, start, end):
        p = json.loads(e.payload)
        cid = p.get("change_id")
        cr = session.get(ChangeRequest, cid) if cid is not None else None
        yield tables.emergency_row(e.seq, e.ts, e.actor, p, cr.emergency_deadline if cr else None,
                                   cr.state if cr else None, cr.retro_approved_at if cr else None)


def overdue(session: Session, start: str, end: str, now: str) -> Iterator[dict[str, Any]]:
    """Emergency CRs of the period (or due in it) whose ratification missed the deadline."""
    deadline = col(ChangeRequest.emergency_deadline)
    for cr in session.exec(select(ChangeRequest).where(
            col(ChangeRequest.emergency).is_(True), deadline.is_not(None),
            or_(in_period(start, end), (deadline >= start) & (deadline < end)))
            .order_by(col(ChangeRequest.id))).all():
        if not retro_overdue(cr, now):
            continue
        seq = session.exec(select(Deployment.log_seq).where(Deployment.change_id == cr.id,
                                                            col(Deployment.emergency).is_(True))
                           .order_by(col(Deployment.log_seq))).first()
        yield tables.overdue_row(cr.id or 0, cr.repo, cr.target, cr.emergency_deadline or "", cr.deployed_by,
                                 cr.retro_approved_at, cr.state, seq)


def exception_rows(session: Session, start: str, end: str, now: str,
                   extra: Iterable[dict[str, Any]] = ()) -> Iterator[dict[str, Any]]:
    """All exceptions of the period, kind by kind; ``extra`` carries the reconciliation findings."""
    yield from refused(session, start, end)
    yield from emergencies(session, start, end)
    yield from overdue(session, start, end, now)
    from gatekeeper.drift.audit import drift_exceptions

    yield from drift_exceptions(session, start, end)
    yield from sign_refused(session, start, end)
    yield from voided(session, start, end)
    yield from extra
