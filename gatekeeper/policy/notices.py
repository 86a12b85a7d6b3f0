"""The notification events (SPEC §11): what is worth telling, and to whom it is mandatory.

Names in SPEC's strings; which log entry stands for which event is decided here (``for_event``);
the outbox listener (``notify.events``) only routes them to channels.
"""

from __future__ import annotations

from enum import StrEnum

TYPE_CHECKING = False
if TYPE_CHECKING:  # the policy file's loader needs only the names (and so does the hook when the policy changed)
    from gatekeeper.ledger.events import Event


class Notice(StrEnum):
    WAITING = "change.waiting"
    APPROVED = "change.approved"
    REJECTED = "change.rejected"
    DEPLOYED = "change.deployed"
    EMERGENCY_OPENED = "emergency.opened"
    RETRO_DUE = "retro.due"
    RETRO_OVERDUE = "retro.overdue"
    PUSH_REFUSED = "push.refused"
    DRIFT_DETECTED = "drift.detected"
    ACCESS_REVIEW_SIGNED = "access.review_signed"
    ACCESS_REVOCATION_OPEN = "access.revocation_open"
    COMMENTED = "change.commented"   # a comment in a change request's discussion (issue 25)


NOTICES: tuple[str, ...] = tuple(n.value for n in Notice)
"""Every event a webhook may subscribe to (``[[notify.webhooks]] events``), in SPEC §11's order."""
MANDATORY = frozenset({Notice.EMERGENCY_OPENED, Notice.RETRO_DUE, Notice.RETRO_OVERDUE})
"""Reminders a user's opt-out does not stop."""


def for_event(event: Event) -> list[Notice]:
    """The notification events a log entry stands for (``[]`` for most kinds: ``notify.*`` entries are
    never told, so logging a delivery enqueues nothing)."""
    from gatekeeper.ledger import events as ev
    from gatekeeper.policy.states import State

    if isinstance(event, ev.ChangeOpened | ev.ChangeRevised):
        return [Notice.WAITING] if event.state == State.PENDING else []
    if isinstance(event, ev.ChangeApproved):
        return [Notice.APPROVED] if event.state in (State.APPROVED, State.RETRO_APPROVED) else []
    if isinstance(event, ev.ChangeRejected):
        return [Notice.REJECTED]
    if isinstance(event, ev.ChangeCommented):
        return [Notice.COMMENTED]
    if isinstance(event, ev.ChangeDeployed):
        return [Notice.DEPLOYED] if event.change_id else []
    if isinstance(event, ev.EmergencyDeployed):
        return [Notice.EMERGENCY_OPENED] if event.change_id else []
    if isinstance(event, ev.PushRefused):
        return [Notice.PUSH_REFUSED]
    if isinstance(event, ev.DriftDetected):
        return [Notice.DRIFT_DETECTED]
    if isinstance(event, ev.AccessReviewSigned):
        return [Notice.ACCESS_REVIEW_SIGNED]
    if isinstance(event, ev.AccessSnapshot):  # revoked rights still held: work the directory's owners have not done
        return [Notice.ACCESS_REVOCATION_OPEN] if event.revocations_open else []
    return []
