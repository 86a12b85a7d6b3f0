"""``exceptions.csv`` (SPEC §9, §10): what an auditor follows up, one row per finding.

Kinds: ``push.refused`` (one row per refused ref of a refused push), ``emergency`` (each
break-glass deployment), ``retro-overdue`` (an emergency CR not ratified by its deadline, or
ratified late), ``reconcile-gap`` and ``hook-drift`` (from ``audit.reconcile``), ``drift`` (a live
source that differs from the approved content, or cannot be read: ``drift.audit``),
``access-revocation-open`` (a right a signed access review revoked, still held at the period's last
access snapshot: ``audit.access``). Refusals and
emergencies are read from the hash-chained log, so a row always points at the entry behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import Session, col, or_, select

from gatekeeper.audit.register import in_period, retro_overdue
from gatekeeper.ledger import events
from gatekeeper.policy.reasons import messages
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeRequest, Deployment

EXCEPTION_COLUMNS = ("kind", "at", "actor", "repo", "ref", "change_id", "detail", "log_seq")


def refused(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in log.of_kinds(session, [events.PUSH_REFUSED], start=start, end=end):
        p = events.PushRefused.from_payload(e.payload)
        refs = [r for r in p.refs if not r.allow] or [events.RefOutcome(ref="")]
        for r in refs:
            detail = " | ".join(messages(r.reasons)) or "refused"
            if p.emergency is not None:
                detail = f"emergency requested ({p.emergency}): {detail}"
            if p.spooled:  # refused by the hook while the service was unreachable, logged on delivery
                detail = f"refused by the hook at {p.refused_at} while the service was unreachable: {detail}"
            yield {"kind": "push.refused", "at": p.refused_at if p.spooled else e.ts, "actor": e.actor,
                   "repo": p.repo, "ref": r.ref or None, "change_id": None, "detail": detail, "log_seq": e.seq}


def emergencies(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    for e in log.of_kinds(session, [events.EMERGENCY_DEPLOYED], start=start, end=end):
        d = events.EmergencyDeployed.from_payload(e.payload)
        cid = d.change_id
        cr = session.get(ChangeRequest, cid) if cid is not None else None
        detail = f"break-glass deployment of {d.new[:12]}: {d.reason}" + (f" ({d.note})" if d.note else "")
        if cr is not None:
            detail += f"; retrospective approval due by {cr.emergency_deadline}; state now {cr.state}"
            if cr.retro_approved_at:
                detail += f" (retro-approved {cr.retro_approved_at})"
        yield {"kind": "emergency", "at": e.ts, "actor": e.actor, "repo": d.repo, "ref": d.ref,
               "change_id": cid, "detail": detail, "log_seq": e.seq}


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
        detail = (f"retro-approved {cr.retro_approved_at}, after the deadline {cr.emergency_deadline}"
                  if cr.retro_approved_at else
                  f"no retrospective approval; the deadline {cr.emergency_deadline} has passed "
                  f"(state {cr.state})")
        yield {"kind": "retro-overdue", "at": cr.emergency_deadline, "actor": cr.deployed_by, "repo": cr.repo,
               "ref": f"refs/heads/{cr.target}", "change_id": cr.id, "detail": detail, "log_seq": seq}


def exception_rows(session: Session, start: str, end: str, now: str,
                   extra: Iterable[dict[str, Any]] = ()) -> Iterator[dict[str, Any]]:
    """All exceptions of the period, kind by kind; ``extra`` carries the reconciliation findings."""
    yield from refused(session, start, end)
    yield from emergencies(session, start, end)
    yield from overdue(session, start, end, now)
    from gatekeeper.audit.access import revocation_exceptions
    from gatekeeper.drift.audit import drift_exceptions

    yield from drift_exceptions(session, start, end)
    yield from revocation_exceptions(session, start, end)
    yield from extra
