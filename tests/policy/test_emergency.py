"""The break-glass decision is a function of values (issue 11 item 6)."""

from __future__ import annotations

import pytest

from gatekeeper.policy.emergency import NOT_REQUESTED, USAGE, decide
from gatekeeper.policy.people import Membership

ONCALL = Membership("ot-emergency", ("ot-emergency",))
OTHER = Membership("ot-engineers", ("ot-engineers",))


def test_not_requested_without_the_option() -> None:
    assert decide(None, ["ot-emergency"], "erin", [ONCALL]) == NOT_REQUESTED


def test_member_with_a_reason_passes_and_the_membership_is_kept() -> None:
    d = decide("  line 3 down ", ["ot-emergency"], "erin", [OTHER, ONCALL])
    assert (d.requested, d.allowed, d.text, d.memberships) == (True, True, "line 3 down", (ONCALL,))


@pytest.mark.parametrize(("option", "roles", "members", "message"), [
    ("", ["ot-emergency"], [ONCALL], USAGE),
    ("   ", ["ot-emergency"], [ONCALL], USAGE),
    ("why", [], [ONCALL], "emergency changes are disabled (roles.emergency names no group)"),
    ("why", ["ot-emergency"], [OTHER], "mallory may not push emergency changes (not in ot-emergency)"),
    ("why", ["ot-emergency", "shift-leads"], [], "mallory may not push emergency changes (not in ot-emergency or "
                                                 "shift-leads)"),
])
def test_refusals_say_why(option: str, roles: list[str], members: list[Membership], message: str) -> None:
    d = decide(option, roles, "mallory", members)
    assert d.requested and not d.allowed and d.text == message and d.memberships == ()
