"""The record of what git did with a gate decision (SPEC §7, §11): a deploy intent confirmed
(``change.deployed`` / ``emergency.deployed``, then ``push.allowed``) or voided (``deploy.voided``).

Never decides again: what is recorded comes from the intent the gate wrote. Used by post-receive
(``actions.push.record_push``) and by settling later (``actions.settle``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from gatekeeper.actions import review as rv
from gatekeeper.actions.changes import open_or_revise
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import UpdateIn
from gatekeeper.config import RepoConfig
from gatekeeper.errors import GatekeeperError
from gatekeeper.ledger import events as ev
from gatekeeper.policy import emergency as em
from gatekeeper.policy.reasons import Code, reason
from gatekeeper.policy.states import State
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import DeployIntent, Deployment


@dataclass
class Settled:
    """What one settling pass recorded, for ``push.allowed`` and the pusher's messages."""

    lines: list[str] = field(default_factory=list)
    confirmed: list[tuple[DeployIntent, ev.RefOutcome]] = field(default_factory=list)


def decided(intent: DeployIntent) -> ev.DeployIntent:
    """The gate's decision an intent row carries (its ``deploy.intent`` payload)."""
    return ev.DeployIntent.from_payload(q.loads(intent.decision))


def confirm(services: Services, session: Session, repo: RepoConfig, intent: DeployIntent, u: UpdateIn | None,
            settled_by: str, done: Settled, *, note: str = "", commits: Sequence[str] = ()) -> None:
    """Record the deployment the intent names (never re-decided): revision, fingerprint, approvals."""
    decision = decided(intent)
    now = log.utc_now()
    shas = tuple(c.sha for c in u.commits) if u is not None else tuple(commits)
    last = 0
    if decision.action == "emergency" and decision.emergency is not None:
        last = _emergency(services, session, repo, intent, decision.emergency, u, shas, settled_by, note, done)
    for c in decision.changes:
        cr = q.get(session, c.change_id)
        if cr is None:
            continue
        cr.state, cr.deployed_at, cr.deployed_by, cr.deployed_commit, cr.updated_at = (
            State.DEPLOYED, now, intent.pusher, intent.new, now)
        if c.ticket_state:  # the ITSM state the gate saw (SPEC §11)
            cr.ticket_state = c.ticket_state
        q.unindex(session, c.change_id)
        event = ev.ChangeDeployed(
            change_id=c.change_id, repo=repo.name, ref=intent.ref, old=intent.old, new=intent.new,
            revision=c.revision, fingerprint=c.fingerprint, approvals=c.approvals, commits=shas, state=cr.state,
            intent_id=intent.id, intent_seq=intent.decision_seq, settled_by=settled_by, note=note,
            ticket_state=c.ticket_state or None)
        entry = log.append(session, event, intent.pusher, [c.change_id], ts=now)
        session.add(Deployment(change_id=c.change_id, repo=repo.name, ref=intent.ref, old=intent.old,
                               new=intent.new, pushed_by=intent.pusher, at=now, log_seq=entry.seq))
        last = entry.seq
        done.lines.append(f"change request {c.change_id} deployed to {intent.ref} at {intent.new[:12]} "
                          f"(revision {c.revision}, fingerprint {c.fingerprint[:12]})")
    if decision.action in ("copy", "no-approval"):
        event = ev.ChangeDeployed(change_id=None, repo=repo.name, ref=intent.ref, old=intent.old, new=intent.new,
                                  commits=shas, allowed_by_gate=True, reasons=_reasons(decision), intent_id=intent.id,
                                  intent_seq=intent.decision_seq, settled_by=settled_by, note=note)
        entry = log.append(session, event, intent.pusher, ts=now)
        session.add(Deployment(change_id=None, repo=repo.name, ref=intent.ref, old=intent.old, new=intent.new,
                               pushed_by=intent.pusher, at=now, log_seq=entry.seq))
        last = entry.seq
    intent.state, intent.settled_at, intent.settled_seq = q.INTENT_CONFIRMED, now, last or None
    approvals = {str(c.change_id): list(c.approvals) for c in decision.changes}
    done.confirmed.append((intent, ev.RefOutcome(
        ref=intent.ref, old=intent.old, new=intent.new, allow=True,
        deploys=tuple(c.change_id for c in decision.changes), unapproved_ok=decision.unapproved_ok,
        approvals=approvals, intent_id=intent.id, reasons=_reasons(decision))))


def _reasons(decision: ev.DeployIntent) -> tuple[ev.Reason, ...]:
    """The gate's reasons for an allowed update (an intent logged before reason codes: its messages)."""
    return decision.reasons or tuple(ev.Reason.coerce(m) for m in decision.messages)


def _emergency(services: Services, session: Session, repo: RepoConfig, intent: DeployIntent,
               grant: ev.EmergencyGrant, u: UpdateIn | None, commits: tuple[str, ...], settled_by: str, note: str,
               done: Settled) -> int:
    """Record a break-glass deployment the gate allowed: an ``emergency`` CR due for retrospective approval.

    The decision and its memberships come from the intent (issue 11 item 6). An update with no file
    changes (a deletion, a rewind), or one settled by a later run that has no contents, opens no CR
    but is still logged as ``emergency.deployed``; so is one whose CR the directory outage kept from
    opening (the note says so). A CR whose categories need no approval is retro-approved at once.
    """
    cr, lines = None, list[str]()
    if u is not None and u.changes:
        try:
            with session.begin_nested():
                cr, lines = open_or_revise(services, session, repo.name, u, intent.pusher, [],
                                           emergency_reason=grant.reason)
        except GatekeeperError as exc:  # a directory outage must not lose the break-glass record
            note = (note + "; " if note else "") + f"emergency change request not opened: {exc.message}"
    elif u is None:
        note = (note + "; " if note else "") + "no change request opened (recorded without the push's contents)"
    else:
        note = (note + "; " if note else "") + "no file changes, so no change request to approve"
    now = log.utc_now()
    deadline = em.deadline(now, services.config.roles.emergency_review_hours)
    if cr is not None:
        cr.emergency_deadline, cr.deployed_at, cr.deployed_by, cr.deployed_commit = (
            deadline, now, intent.pusher, intent.new)
        if not rv.rules_of(services, cr):
            cr.state, cr.retro_approved_at = State.RETRO_APPROVED, now
        cr.updated_at = now
    event = ev.EmergencyDeployed(
        change_id=cr.id if cr else None, repo=repo.name, ref=intent.ref, old=intent.old, new=intent.new,
        reason=grant.reason, deadline=deadline if cr else None, commits=commits, memberships=grant.memberships,
        state=cr.state if cr else None, intent_id=intent.id, intent_seq=intent.decision_seq, settled_by=settled_by,
        note=note)
    entry = log.append(session, event, intent.pusher, [cr.id or 0] if cr else [], ts=now)
    session.add(Deployment(change_id=cr.id if cr else None, repo=repo.name, ref=intent.ref, old=intent.old,
                           new=intent.new, pushed_by=intent.pusher, at=now, emergency=True, log_seq=entry.seq))
    if cr is None:
        done.lines.append(f"EMERGENCY update of {intent.ref} by {intent.pusher} recorded ({grant.reason}); {note}")
        return entry.seq
    url = services.change_url(cr.id or 0)
    due = (f"nothing to approve retrospectively (no approval rules apply): {url}"
           if cr.state == State.RETRO_APPROVED else f"retrospective approval due by {deadline}: {url}")
    done.lines.extend([f"EMERGENCY change request {cr.id} deployed to {intent.ref}: {grant.reason}", due,
                       *(ln for ln in lines[1:] if not ln.startswith("review: "))])
    return entry.seq


def void(session: Session, intent: DeployIntent, actual: str | None, reason_text: str, settled_by: str) -> None:
    """Record that git did not make the intent's update: nothing was deployed."""
    now = log.utc_now()
    event = ev.DeployVoided(intent_id=intent.id or 0, intent_seq=intent.decision_seq, repo=intent.repo,
                            ref=intent.ref, old=intent.old, new=intent.new, actual=actual, reason=reason_text,
                            settled_by=settled_by, change_ids=tuple(q.intent_change_ids(intent)))
    entry = log.append(session, event, intent.pusher, event.change_ids, ts=now)
    intent.state, intent.settled_at, intent.settled_seq = q.INTENT_VOIDED, now, entry.seq


def unrecorded(session: Session, repo: RepoConfig, u: UpdateIn, pusher: str) -> list[str]:
    """A protected update git made with no gate decision behind it (fail_open, or the hook bypassed).

    Recorded as it happened — not as allowed — so reconciliation and the register flag it.
    """
    now = log.utc_now()
    event = ev.ChangeDeployed(change_id=None, repo=repo.name, ref=u.ref, old=u.old, new=u.new,
                              commits=tuple(c.sha for c in u.commits), allowed_by_gate=False,
                              reasons=(reason(Code.GATE_NO_DECISION,
                                              "no gate decision (deploy intent) recorded for this update"),))
    entry = log.append(session, event, pusher, ts=now)
    session.add(Deployment(change_id=None, repo=repo.name, ref=u.ref, old=u.old, new=u.new, pushed_by=pusher,
                           at=now, log_seq=entry.seq))
    return [f"{u.ref}: updated without a recorded gate decision; logged for reconciliation"]


def push_allowed(session: Session, repo: str, pusher: str | None, options: Sequence[str], done: Settled,
                 settled_by: str) -> None:
    """``push.allowed`` names only updates git made (issue 11 item 7): one entry per settling pass."""
    if not done.confirmed:
        return
    first = done.confirmed[0][0]
    grant = next((decided(i).emergency for i, _ in done.confirmed if i.emergency), None)
    event = ev.PushAllowed(repo=repo, pusher=pusher or first.pusher, push_options=tuple(options),
                           emergency=grant.reason if grant else None,
                           refs=tuple(outcome for _, outcome in done.confirmed), settled_by=settled_by)
    log.append(session, event, pusher or first.pusher, [cid for _, o in done.confirmed for cid in o.deploys])
    done.confirmed.clear()
