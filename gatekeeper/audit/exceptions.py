"""``exceptions.csv`` (SPEC §9, §10): what an auditor follows up, one row per finding.

Kinds: ``push.refused`` (one row per refused ref of a refused push), ``emergency`` (each
break-glass deployment), ``retro-overdue`` (an emergency CR not ratified by its deadline, or
ratified late), ``reconcile-gap`` and ``hook-drift`` (from ``audit.reconcile``), ``drift`` (a live
source that differs from the approved content, or cannot be read: ``drift.audit``),
``sign-refused`` (a signature refused for segregation of duties), ``deploy-voided`` (a gate
decision git did not carry out) and ``access-revocation-open`` (a right a signed access review
revoked, still held at the period's last access snapshot: ``audit.access``). The rows one entry
makes are ``verifier.tables``'s, shared with the pack's projection. Refusals and
emergencies are read from the hash-chained log, so a row always points at the entry behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import Session, col, or_, select

from gatekeeper.audit.register import in_period, retro_overdue
from gatekeeper.ledger import events
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeRequest, Deployment
from gatekeeper.verifier import tables


def refused(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in log.of_kinds(session, [events.PUSH_REFUSED], start=start, end=end):
        yield from tables.refused_rows(e.seq, e.ts, e.actor, e.payload)


def sign_refused(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in log.of_kinds(session, [events.SIGN_REFUSED], start=start, end=end):
        cid = e.payload.get("change_id")
        cr = session.get(ChangeRequest, cid) if isinstance(cid, int) else None
        yield tables.sign_refused_row(e.seq, e.ts, e.actor, e.payload, cr.repo if cr is not None else None)


def voided(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in log.of_kinds(session, [events.DEPLOY_VOIDED], start=start, end=end):
        yield tables.voided_row(e.seq, e.ts, e.actor, e.payload)


def emergencies(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in log.of_kinds(session, [events.EMERGENCY_DEPLOYED], start=start, end=end):
        p = e.payload
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
    from gatekeeper.audit.access import revocation_exceptions
    from gatekeeper.drift.audit import drift_exceptions

    yield from drift_exceptions(session, start, end)
    yield from sign_refused(session, start, end)
    yield from voided(session, start, end)
    yield from revocation_exceptions(session, start, end)
    yield from extra
