"""The break-glass decision (SPEC §7, issue 11 item 6): taken once, by the gate, from values.

A push with ``-o gatekeeper.emergency="reason"`` passes the gate when the reason is not empty and
the pusher is, at that moment, in a group named by ``roles.emergency``. The memberships that
decided it go into the deploy intent; post-receive records the deployment from the intent and
never asks the directory again, so a membership change or an outage in between cannot turn a
break-glass push into a plain deployment or into nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gatekeeper.policy.notices import Notice
from gatekeeper.policy.people import Membership
from gatekeeper.policy.reasons import Code, Reason, reason
from gatekeeper.policy.states import State

USAGE = 'gatekeeper.emergency needs a reason: git push -o gatekeeper.emergency="why"'


@dataclass(frozen=True)
class EmergencyDecision:
    """``requested``: the option was given; ``allowed``: it passes; ``text``: the reason or the refusal
    (``code``: the refusal's reason code)."""

    requested: bool
    allowed: bool
    text: str
    memberships: tuple[Membership, ...] = ()
    code: str = ""

    def refusal(self, ref: str) -> Reason:
        return Reason(self.code, f"refusing {ref}: {self.text}")


NOT_REQUESTED = EmergencyDecision(False, False, "")


def decide(option: str | None, roles: Sequence[str], pusher: str, memberships: Sequence[Membership]
           ) -> EmergencyDecision:
    """``option``: the push option's value (None when absent); ``memberships``: the pusher's, looked up now."""
    if option is None:
        return NOT_REQUESTED
    why = option.strip()
    if not why:
        return EmergencyDecision(True, False, USAGE, code=Code.EMERGENCY_NO_REASON)
    if not roles:
        return EmergencyDecision(True, False, "emergency changes are disabled (roles.emergency names no group)",
                                 code=Code.EMERGENCY_DISABLED)
    used = tuple(m for m in memberships if m.group in roles)
    if not used:
        return EmergencyDecision(True, False, f"{pusher} may not push emergency changes (not in {' or '.join(roles)})",
                                 code=Code.EMERGENCY_NOT_ALLOWED)
    return EmergencyDecision(True, True, why, used, code=Code.GATE_EMERGENCY)


def describe(ref: str, old: str, new: str, fast_forward: bool | None = None) -> str:
    """What a break-glass update did to the ref, exactly (issue 22 item 4): the emergency CR's title
    names the old tip, the new tip or "deleted"."""
    from gatekeeper.policy.refs import created, deleted

    if deleted(new):
        return f"deletion of {ref} (was {old[:12]})"
    if created(old):
        return f"creation of {ref} at {new[:12]}"
    kind = "non-fast-forward update" if fast_forward is False else "update"
    return f"{kind} of {ref} ({old[:12]} -> {new[:12]})"


def retro_due(hours: int) -> Reason:
    """The line an allowed break-glass push prints: when its retrospective approval is due."""
    return reason(Code.EMERGENCY_RETRO_DUE, f"retrospective approval is due within {hours} hours")


def parse_ts(ts: str) -> datetime:
    """A stored RFC 3339 timestamp as an aware UTC datetime (stored: ``…SSZ`` or ``…SS.ffffffZ``)."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def deadline(deployed_at: str, hours: int) -> str:
    """When retrospective approval is due: ``emergency_review_hours`` after the deployment (RFC 3339 UTC)."""
    return (parse_ts(deployed_at) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def retro_overdue(emergency: bool, deadline: str | None, retro_approved_at: str | None, state: str,
                  now: str | datetime) -> bool:
    """An emergency CR whose retrospective approval missed its deadline (SPEC §2, §7; the register's
    ``retro_overdue``): true while it still awaits approval after the deadline, and also when the
    approval came late (for the auditor a late ratification is an exception even once it is given)."""
    if not emergency or not deadline:
        return False
    due = parse_ts(deadline)
    if retro_approved_at:
        return parse_ts(retro_approved_at) > due
    moment = parse_ts(now) if isinstance(now, str) else now
    return state == State.EMERGENCY and moment > due


REMINDER_WINDOW = timedelta(hours=24)


def reminder(deadline: str, state: str, now: datetime) -> Notice | None:
    """Which retrospective-approval reminder an emergency CR is due (SPEC §11): ``retro.overdue`` once the
    deadline has passed (the register's ``retro_overdue``), ``retro.due`` within 24 hours of it."""
    if retro_overdue(True, deadline, None, state, now):
        return Notice.RETRO_OVERDUE
    if state == State.EMERGENCY and now >= parse_ts(deadline) - REMINDER_WINDOW:
        return Notice.RETRO_DUE
    return None
