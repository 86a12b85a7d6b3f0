"""The facts ``policy.status`` decides from, gathered for one CR or a page of them in a few queries.

A list (``/changes``, the dashboard) reads what each current revision stored when it was pushed (its
validation errors and author findings), the latest rejection of that revision, the withdrawal's log
entry, and any newer CR on the same topic branch and target: four queries for a whole page. The change
page passes the CR's full review instead, so its blockers are exactly what the sign form says.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlmodel import Session, col, select

from gatekeeper.ledger import events as ev
from gatekeeper.policy import review as policy_review
from gatekeeper.policy.approvals import REJECT, Signature
from gatekeeper.policy.reasons import Reason
from gatekeeper.policy.review import Review
from gatekeeper.policy.states import OPEN_STATES, State
from gatekeeper.policy.status import Status, StatusFacts, Withdrawal, status
from gatekeeper.store import changes as q
from gatekeeper.store.tables import Approval, ChangeLog, ChangeLogRef, ChangeRequest, Revision


def statuses(session: Session, crs: Sequence[ChangeRequest]) -> dict[int, Status]:
    """``policy.status.status`` of each CR, from stored facts."""
    facts = gather(session, crs)
    return {cid: status(f) for cid, f in facts.items()}


def of_change(session: Session, cr: ChangeRequest, current: Review) -> Status:
    """The change page's status: blockers from the CR's review now (the sign form's own reasons)."""
    facts = gather(session, [cr], review=current)
    return status(facts[cr.id or 0])


def gather(session: Session, crs: Sequence[ChangeRequest], review: Review | None = None) -> dict[int, StatusFacts]:
    ids = [cr.id or 0 for cr in crs]
    if not ids:
        return {}
    blockers = ({ids[0]: policy_review.blockers(len(review.errors), review.author_findings)} if review is not None
                else _stored_blockers(session, crs))
    rejected = _rejections(session, [cr for cr in crs if cr.state == State.REJECTED])
    withdrawn = _withdrawals(session, [cr.id or 0 for cr in crs if cr.state == State.WITHDRAWN])
    newer = _newer(session, [cr for cr in crs if cr.state in OPEN_STATES])
    return {cr.id or 0: StatusFacts(id=cr.id or 0, state=cr.state, topic=cr.topic_ref.removeprefix("refs/heads/"),
                                    target=cr.target, blockers=blockers.get(cr.id or 0, ()),
                                    rejection=rejected.get(cr.id or 0), withdrawal=withdrawn.get(cr.id or 0),
                                    superseded_by=newer.get(cr.id or 0))
            for cr in crs}


def _stored_blockers(session: Session, crs: Sequence[ChangeRequest]) -> dict[int, tuple[Reason, ...]]:
    """Validation errors and author findings as stored on each open CR's current revision."""
    wanted = [cr for cr in crs if cr.state in (State.PENDING, State.EMERGENCY)]
    if not wanted:
        return {}
    numbers = {cr.id: cr.current_revision for cr in wanted}
    out: dict[int, tuple[Reason, ...]] = {}
    for rev in session.exec(select(Revision).where(col(Revision.change_id).in_(list(numbers)))):
        if numbers.get(rev.change_id) != rev.number:
            continue
        errors = sum(1 for f in q.loads(rev.findings) if f.get("severity") == "error")
        stored = tuple(Reason.coerce(f) for f in q.loads(rev.sod_findings))
        if errors or stored:
            out[rev.change_id] = policy_review.blockers(errors, stored)
    return out


def _rejections(session: Session, crs: Sequence[ChangeRequest]) -> dict[int, Signature]:
    numbers = {cr.id: cr.current_revision for cr in crs}
    out: dict[int, Signature] = {}
    if not numbers:
        return out
    for a in q.signatures(session, col(Approval.change_id).in_(list(numbers)), col(Approval.decision) == REJECT):
        if numbers.get(a.change_id) == a.revision:  # the latest wins
            out[a.change_id] = a
    return out


def _withdrawals(session: Session, ids: Sequence[int]) -> dict[int, Withdrawal]:
    out: dict[int, Withdrawal] = {}
    if not ids:
        return out
    rows = session.exec(select(ChangeLog, ChangeLogRef.change_id)
                        .join(ChangeLogRef, col(ChangeLogRef.seq) == col(ChangeLog.seq))
                        .where(col(ChangeLogRef.change_id).in_(list(ids)), ChangeLog.kind == ev.CHANGE_WITHDRAWN)
                        .order_by(col(ChangeLog.seq))).all()
    for entry, cid in rows:
        event = ev.ChangeWithdrawn.from_payload(json.loads(entry.payload))
        out[cid] = Withdrawal(entry.actor, event.reason, entry.ts)
    return out


def _newer(session: Session, crs: Sequence[ChangeRequest]) -> dict[int, int]:
    """CR id → the newest CR opened after it on the same repo, topic branch and target, not withdrawn."""
    out: dict[int, int] = {}
    if not crs:
        return out
    topics = sorted({cr.topic_ref for cr in crs})
    later = session.exec(select(ChangeRequest.id, ChangeRequest.repo, ChangeRequest.topic_ref, ChangeRequest.target)
                         .where(col(ChangeRequest.topic_ref).in_(topics), col(ChangeRequest.emergency).is_(False),
                                ChangeRequest.state != State.WITHDRAWN.value)).all()
    for cr in crs:
        found = [int(i or 0) for i, repo, topic, target in later
                 if (repo, topic, target) == (cr.repo, cr.topic_ref, cr.target) and (i or 0) > (cr.id or 0)]
        if found:
            out[cr.id or 0] = max(found)
    return out
