"""Typed payloads (``ledger.events.base``): records to payloads and back, old payloads, coded reasons."""

from __future__ import annotations

import pytest

from gatekeeper.ledger import events as ev


def test_reasons_logged_as_sentences_read_back_with_a_code() -> None:
    old = {"refs": [{"ref": "refs/heads/main", "allow": False,
                     "reasons": ["refusing refs/heads/main: non-fast-forward update of a protected branch"]}]}
    reason = ev.PushRefused.from_payload(old).refs[0].reasons[0]
    assert reason.code == "gate.non_fast_forward" and "non-fast-forward" in reason.message
    refused = ev.SignRefused.from_payload({"reasons": "carol cannot approve a change they took part in (as author)"})
    assert [r.code for r in refused.reasons] == ["sod.self"]
    assert ev.Reason.coerce("something nobody wrote") == ev.Reason("legacy.unclassified", "something nobody wrote")


def test_keys_a_kind_only_sometimes_carried_stay_out_of_new_payloads() -> None:
    plain = ev.ChangeApproved(change_id=1, state="approved").to_payload()
    assert "ticket" not in plain and "ticket_state" not in plain
    with_ticket = ev.ChangeApproved(change_id=1, ticket="CHG1", ticket_state="Scheduled").to_payload()
    assert (with_ticket["ticket"], with_ticket["ticket_state"]) == ("CHG1", "Scheduled")
    assert "title" not in plain and ev.ChangeRejected(title="Raise TT-101").to_payload()["title"] == "Raise TT-101"
    assert "emergency_reason" not in ev.ChangeOpened().to_payload()
    assert "layout" not in ev.HooksAttested().to_payload() and ev.HooksAttested(layout="gitea").to_payload()[
        "layout"] == "gitea"


def test_a_payload_must_be_an_object_and_nested_records_come_back_typed() -> None:
    with pytest.raises(ValueError, match="a payload must be a JSON object"):
        ev.PushRefused.from_payload(["not", "an", "object"])  # type: ignore[arg-type]
    refused = ev.SignRefused.from_payload({"reasons": [{"code": "sod.self", "message": "took part"}],
                                           "unknown_key": "ignored"})
    assert refused.reasons == (ev.Reason("sod.self", "took part"),) and str(refused.reasons[0]) == "took part"
    assert isinstance(ev.DriftDetected.from_payload({"diff": [{"path": "a"}]}).diff, tuple)  # lists frozen
