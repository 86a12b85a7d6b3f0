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

from gatekeeper.directory.base import Membership

USAGE = 'gatekeeper.emergency needs a reason: git push -o gatekeeper.emergency="why"'


@dataclass(frozen=True)
class EmergencyDecision:
    """``requested``: the option was given; ``allowed``: it passes; ``text``: the reason or the refusal."""

    requested: bool
    allowed: bool
    text: str
    memberships: tuple[Membership, ...] = ()


NOT_REQUESTED = EmergencyDecision(False, False, "")


def decide(option: str | None, roles: Sequence[str], pusher: str, memberships: Sequence[Membership]
           ) -> EmergencyDecision:
    """``option``: the push option's value (None when absent); ``memberships``: the pusher's, looked up now."""
    if option is None:
        return NOT_REQUESTED
    reason = option.strip()
    if not reason:
        return EmergencyDecision(True, False, USAGE)
    if not roles:
        return EmergencyDecision(True, False, "emergency changes are disabled (roles.emergency names no group)")
    used = tuple(m for m in memberships if m.group in roles)
    if not used:
        return EmergencyDecision(True, False, f"{pusher} may not push emergency changes (not in {' or '.join(roles)})")
    return EmergencyDecision(True, True, reason, used)
