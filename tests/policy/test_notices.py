"""Which log entries are worth telling (``policy.notices.for_event``): SPEC §11's events, decided once."""

from __future__ import annotations

from gatekeeper.ledger import events as ev
from gatekeeper.policy.notices import MANDATORY, NOTICES, Notice, for_event


def test_change_events_tell_only_in_the_states_that_matter() -> None:
    assert for_event(ev.ChangeOpened(state="pending")) == [Notice.WAITING]
    assert for_event(ev.ChangeRevised(state="pending")) == [Notice.WAITING]
    assert for_event(ev.ChangeRevised(state="emergency")) == []
    assert for_event(ev.ChangeApproved(state="approved")) == [Notice.APPROVED]
    assert for_event(ev.ChangeApproved(state="retro-approved")) == [Notice.APPROVED]
    assert for_event(ev.ChangeApproved(state="pending")) == []  # one of two approvals: nothing to tell yet
    assert for_event(ev.ChangeRejected(state="rejected")) == [Notice.REJECTED]


def test_deploys_tell_only_when_a_change_request_is_named() -> None:
    assert for_event(ev.ChangeDeployed(change_id=3)) == [Notice.DEPLOYED]
    assert for_event(ev.ChangeDeployed(change_id=None)) == []
    assert for_event(ev.EmergencyDeployed(change_id=4)) == [Notice.EMERGENCY_OPENED]
    assert for_event(ev.EmergencyDeployed()) == []


def test_refusals_drift_and_access_events() -> None:
    assert for_event(ev.PushRefused(repo="r")) == [Notice.PUSH_REFUSED]
    assert for_event(ev.DriftDetected()) == [Notice.DRIFT_DETECTED]
    assert for_event(ev.AccessReviewSigned()) == [Notice.ACCESS_REVIEW_SIGNED]
    assert for_event(ev.AccessSnapshot()) == []
    open_ = ev.AccessSnapshot(revocations_open=(ev.Revocation(),))
    assert for_event(open_) == [Notice.ACCESS_REVOCATION_OPEN]


def test_deliveries_are_never_told_and_every_kind_is_answered() -> None:
    for cls in ev.KINDS:
        told = for_event(cls())
        assert set(told) <= set(Notice)
        if cls.KIND.startswith("notify."):
            assert told == []  # logging a delivery must not enqueue another one


def test_names_are_spec_strings_and_reminders_are_mandatory() -> None:
    assert NOTICES[0] == "change.waiting" and "access.revocation_open" in NOTICES
    assert len(NOTICES) == len(set(NOTICES)) == len(Notice)
    assert {Notice.EMERGENCY_OPENED, Notice.RETRO_DUE, Notice.RETRO_OVERDUE} == MANDATORY
