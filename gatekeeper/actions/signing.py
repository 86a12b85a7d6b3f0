"""Signing a CR (SPEC §3, §10): one electronic signature, decided and recorded in one write
transaction; a refused one is logged after its transaction rolled back."""

from __future__ import annotations

from gatekeeper import itsm
from gatekeeper.actions import review as rv
from gatekeeper.actions.changes import load
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import SignRequest
from gatekeeper.errors import Conflict, Forbidden, InputError
from gatekeeper.ledger import events as ev
from gatekeeper.policy import states
from gatekeeper.policy.approvals import Signature, filled
from gatekeeper.policy.people import User
from gatekeeper.policy.reasons import Code, messages
from gatekeeper.policy.states import State
from gatekeeper.store import changes as q
from gatekeeper.store import log


def sign(services: Services, change_id: int, signer: User, req: SignRequest) -> None:
    """Record one electronic signature (SPEC §3, §10): SoD is decided in the same transaction.

    A signature refused by ``signing_blockers`` (the 403) is itself logged, as ``change.sign_refused``
    with the reasons, after the refused transaction rolled back: an author trying to approve her own
    change is exactly what an auditor must be able to count (the metrics' ``sod_refusals``).
    """
    try:
        _sign(services, change_id, signer, req)
    except Forbidden as exc:
        refused = tuple(ev.Reason(**r) for r in exc.reasons) or (ev.Reason(Code.LEGACY_UNCLASSIFIED, exc.message),)
        with services.store.write() as session:
            log.append(session, ev.SignRefused(change_id=change_id, signer=signer.username, decision=req.decision,
                                               group=req.group, reasons=refused), signer.username, [change_id])
        raise


def _sign(services: Services, change_id: int, signer: User, req: SignRequest) -> None:
    ticket_verdict = None
    if req.decision == "approve" and services.config.itsm is not None:  # asked before taking the writer lock
        with services.store.read() as session:
            ticket_verdict = itsm.ask(services.config.itsm, load(session, change_id).ticket)
    with services.store.write() as session:
        cr = load(session, change_id)
        if (closed := states.not_signable(cr.state)) is not None:
            raise Conflict(closed.message)
        rev = q.current_revision(session, cr)
        if (req.fingerprint is not None and req.fingerprint != rev.fingerprint) or \
                (req.ticket is not None and req.ticket != rev.ticket):
            raise Conflict(f"change request {cr.id} changed since it was shown (now revision {rev.number}, "
                           f"fingerprint {rev.fingerprint[:12]}, ticket {rev.ticket or '(none)'}): reload it and "
                           "sign what it holds now")
        meanings = rv.meanings_of(services, cr, req.decision)  # a rejection has its own words (SPEC §12)
        meaning = req.meaning or meanings[0]
        if meaning not in meanings:
            raise InputError(f"the meaning of {'a rejection' if req.decision == 'reject' else 'an approval'} "
                             f"must be one of: {', '.join(meanings)}")
        if req.decision == "reject" and not req.comment.strip():
            raise InputError("a comment is required to reject")
        review = rv.review(services, session, cr, rev)
        verdict = rv.signing(services, session, cr, signer, review, req.group)
        allowed = verdict.may_approve if req.decision == "approve" else verdict.may_reject
        if not allowed:
            why = verdict.reasons(req.decision)
            raise Forbidden("; ".join(messages(why)), reasons=tuple(r.to_payload() for r in why))
        check = verdict.approve if req.decision == "approve" else verdict.reject
        ticket_state = itsm.require(services.config.itsm, ticket_verdict, cr) if req.decision == "approve" else None
        now = log.utc_now()
        complete = filled(review.rules, [*review.slots, Signature(signer.username, check.group or "")])
        after = states.after_signature(cr.state, req.decision, complete)
        if after != cr.state:
            cr.state = after
            if after == State.APPROVED:
                cr.approved_at = now
            elif after == State.RETRO_APPROVED:
                cr.retro_approved_at = now
        cr.updated_at = now
        used = tuple(m.to_dict() for m in check.memberships)
        signature = ev.ChangeApproved if req.decision == "approve" else ev.ChangeRejected
        entry = log.append(session, signature(
            change_id=cr.id or 0, revision=rev.number, fingerprint=rev.fingerprint, signer=signer.username,
            name=signer.name, signer_dn=signer.dn, group=check.group, decision=req.decision, meaning=meaning,
            comment=req.comment, memberships=used, state=cr.state, ticket=rev.ticket,
            ticket_state=ticket_state or None, title=rev.title or cr.title, target=cr.target),
            signer.username, [cr.id or 0], ts=now)
        q.add_signature(session, Signature(
            username=signer.username, group=check.group or "", meaning=meaning, signed_at=now,
            fingerprint=rev.fingerprint, ticket=rev.ticket, decision=req.decision, revision=rev.number,
            comment=req.comment, name=signer.name, title=rev.title or cr.title, target=cr.target, log_seq=entry.seq,
            change_id=cr.id or 0, memberships=q.dumps(list(used))))
