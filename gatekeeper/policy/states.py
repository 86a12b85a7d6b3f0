"""CR states (SPEC §2), with SPEC's strings, and every move between them: decided here, once.

Callers (the signature, a revision, a withdrawal, a deployment) ask these functions and store the
answer; the page that shows or hides a button asks the same ones, so it cannot disagree with the
action behind the button.
"""

from __future__ import annotations

from enum import StrEnum

from gatekeeper.policy.reasons import Code, Reason, reason


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DEPLOYED = "deployed"
    EMERGENCY = "emergency"
    RETRO_APPROVED = "retro-approved"


# A topic push revises a CR in one of these states; others are closed and a push opens a new one.
OPEN_STATES = (State.PENDING, State.APPROVED, State.REJECTED)
# Signatures are taken in these states (emergency: retrospective approval).
SIGNABLE_STATES = (State.PENDING, State.EMERGENCY)
# The gate deploys a CR in this state only (and re-checks its approvals first).
DEPLOYABLE = State.APPROVED


def not_signable(state: str) -> Reason | None:
    """Why no signature is taken in ``state`` (None: it is)."""
    if state in SIGNABLE_STATES:
        return None
    return reason(Code.CHANGE_NOT_SIGNABLE, f"this change request is {state}; signatures are taken while it is "
                                            "pending (or emergency, for retrospective approval)")


def after_signature(state: str, decision: str, complete: bool) -> State:
    """The state after one recorded signature: a rejection rejects a pending CR; an approval that fills
    every rule approves it (an emergency CR: retro-approves it)."""
    current = State(state)
    if decision == "reject":
        return State.REJECTED if current == State.PENDING else current
    if not complete:
        return current
    return State.RETRO_APPROVED if current == State.EMERGENCY else State.APPROVED


def after_revision(state: str, kept: bool) -> State:
    """A new revision with other content (``kept`` False) makes a decided CR pending again."""
    current = State(state)
    if not kept and current in (State.APPROVED, State.REJECTED):
        return State.PENDING
    return current


def may_withdraw(state: str, author: str | None, user: str, is_admin: bool, change_id: int,
                 requested_by: str) -> Reason | None:
    """Why ``user`` may not withdraw this CR now, or None. ``author``: the requester's canonical name
    (``None`` if the directory no longer knows it); ``user``: the withdrawer's canonical name."""
    if author != user and not is_admin:
        return reason(Code.CHANGE_NOT_AUTHOR,
                      f"only its author ({requested_by}) or an admin can withdraw change request {change_id}")
    if state not in OPEN_STATES:
        return reason(Code.CHANGE_NOT_WITHDRAWABLE, f"change request {change_id} is {state} and cannot be withdrawn")
    return None
