"""CR states and every move between them (``policy.states``), decided once for actions and pages."""

from __future__ import annotations

import pytest

from gatekeeper.policy.states import (
    OPEN_STATES,
    SIGNABLE_STATES,
    State,
    after_revision,
    after_signature,
    may_withdraw,
    not_signable,
)


def test_signatures_are_taken_while_pending_or_emergency() -> None:
    for state in State:
        refused = not_signable(state)
        assert (refused is None) == (state in SIGNABLE_STATES)
        if refused is not None:
            assert refused.code == "change.not_signable" and f"is {state}" in refused.message


@pytest.mark.parametrize(("state", "decision", "complete", "after"), [
    ("pending", "reject", False, State.REJECTED),
    ("emergency", "reject", False, State.EMERGENCY),   # a rejection does not undo a deployed emergency
    ("pending", "approve", False, State.PENDING),
    ("pending", "approve", True, State.APPROVED),
    ("emergency", "approve", True, State.RETRO_APPROVED),
    ("emergency", "approve", False, State.EMERGENCY),
])
def test_after_signature(state: str, decision: str, complete: bool, after: State) -> None:
    assert after_signature(state, decision, complete) == after


def test_new_content_reopens_a_decided_change_and_nothing_else() -> None:
    assert after_revision("approved", kept=False) == State.PENDING
    assert after_revision("rejected", kept=False) == State.PENDING
    assert after_revision("approved", kept=True) == State.APPROVED  # same fingerprint: the approvals stand
    assert after_revision("emergency", kept=False) == State.EMERGENCY
    with pytest.raises(ValueError):
        after_revision("no-such-state", kept=False)


def test_withdrawal_by_the_author_or_an_admin_while_open() -> None:
    for state in OPEN_STATES:
        assert may_withdraw(state, "alice", "alice", False, 7, "Alice") is None
        assert may_withdraw(state, "alice", "frank", True, 7, "Alice") is None
    other = may_withdraw("pending", "alice", "bob", False, 7, "Alice")
    assert other is not None and other.code == "change.not_author" and "(Alice)" in other.message
    gone = may_withdraw("pending", None, "alice", False, 7, "alice")  # author no longer in the directory
    assert gone is not None and gone.code == "change.not_author"
    done = may_withdraw("deployed", "alice", "alice", False, 7, "alice")
    assert done is not None and done.code == "change.not_withdrawable" and "7 is deployed" in done.message
