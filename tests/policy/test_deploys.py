"""policy.deploys: an intent is confirmed only by the reflog recording exactly its update (issue 22 item 1)."""

from __future__ import annotations

from gatekeeper.policy import deploys
from gatekeeper.policy.deploys import CONFIRMED, UNPROVEN, VOIDED, Reflog

NOTED = 1_000_000.0


def test_a_reflog_line_recording_exactly_the_update_after_it_was_noted_confirms() -> None:
    outcome, why = deploys.settle(NOTED, deploys.NOTED_SLACK, Reflog(True, NOTED - 500, (NOTED + 1,)))
    assert outcome == CONFIRMED and "reflog records exactly this update" in why


def test_the_same_update_recorded_before_the_intent_was_noted_is_no_evidence() -> None:
    """An old line with the same old → new (the ref went there before, was reset, and back) proves nothing now."""
    outcome, _ = deploys.settle(NOTED, deploys.NOTED_SLACK, Reflog(True, NOTED - 500, (NOTED - 100,)))
    assert outcome == VOIDED


def test_a_reflog_covering_the_whole_time_without_the_update_voids() -> None:
    """The `git merge -s ours` race: the ref moved elsewhere; its reflog holds no line old → new."""
    outcome, why = deploys.settle(NOTED, deploys.NOTED_SLACK, Reflog(True, NOTED - 500, ()))
    assert outcome == VOIDED and "records no such update" in why


def test_without_a_reflog_or_with_one_that_begins_later_it_stays_unproven() -> None:
    assert deploys.settle(NOTED, deploys.NOTED_SLACK, Reflog(False))[0] == UNPROVEN
    outcome, why = deploys.settle(NOTED, deploys.NOTED_SLACK, Reflog(True, NOTED + 50, ()))
    assert outcome == UNPROVEN and "begins after" in why


def test_slack_allows_for_whole_seconds_and_clock_skew() -> None:
    assert deploys.settle(NOTED, deploys.NOTED_SLACK, Reflog(True, NOTED - 500, (NOTED - 1,)))[0] == CONFIRMED
    assert deploys.settle(NOTED, deploys.SERVICE_SLACK, Reflog(True, NOTED - 500, (NOTED - 200,)))[0] == CONFIRMED


def test_a_reflog_that_begins_with_the_refs_creation_covers_its_whole_life() -> None:
    """A ref created moments before the intent was noted: its reflog still covers everything since."""
    assert deploys.settle(NOTED, deploys.NOTED_SLACK, Reflog(True, NOTED, (), first_created=True))[0] == VOIDED
