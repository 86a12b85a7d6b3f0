"""Typed log events round-trip through their payloads; old payloads read with defaults."""

from __future__ import annotations

from gatekeeper.ledger import events as ev
from gatekeeper.ledger.canonical import canon


def test_deploy_intent_round_trips_through_canonical_json() -> None:
    import json

    intent = ev.DeployIntent(
        intent_id=7, repo="plant-a-ot", ref="refs/heads/main", old="a" * 40, new="b" * 40, pusher="alice",
        action="deploy", unapproved_ok=("docs/x.md",), messages=("deploys 3",),
        changes=(ev.CountedChange(change_id=3, revision=1, revision_id=9, fingerprint="f" * 64,
                                  approvals=({"username": "carol", "group": "leads", "memberships": []},)),))
    payload = json.loads(canon(intent.to_payload()))
    assert ev.DeployIntent.from_payload(payload) == intent
    assert ev.parse(ev.DEPLOY_INTENT, payload) == intent


def test_emergency_grant_and_push_events_round_trip() -> None:
    grant = ev.EmergencyGrant(reason="line 3 down", memberships=({"group": "ot-emergency", "via": ["x"],
                                                                  "dn": None},))
    intent = ev.DeployIntent(intent_id=1, action="emergency", emergency=grant)
    assert ev.DeployIntent.from_payload(intent.to_payload()).emergency == grant
    allowed = ev.PushAllowed(repo="r", pusher="erin", emergency="x", refs=(
        ev.RefOutcome(ref="refs/heads/main", allow=True, deploys=(1, 2), intent_id=4),))
    assert ev.PushAllowed.from_payload(allowed.to_payload()) == allowed
    refused = ev.PushRefused(repo="r", spooled=True, refused_at="2026-01-01T00:00:00Z", refs=(
        ev.RefOutcome(ref="refs/heads/main", reasons=(ev.Reason("gate.service_unreachable", "down"),)),))
    assert ev.PushRefused.from_payload(refused.to_payload()) == refused
    assert refused.to_payload()["refs"][0]["reasons"] == [{"code": "gate.service_unreachable", "message": "down"}]


def test_payloads_written_before_a_field_existed_read_with_defaults() -> None:
    old = {"change_id": 3, "repo": "r", "ref": "refs/heads/main", "old": "a", "new": "b", "revision": 1,
           "fingerprint": "f", "commits": ["c"], "state": "deployed", "gate_seq": 12}
    d = ev.ChangeDeployed.from_payload(old)
    assert (d.change_id, d.commits, d.allowed_by_gate, d.intent_id) == (3, ("c",), True, None)
    assert ev.parse("change.opened", {}) == ev.ChangeOpened()


def test_every_kind_is_in_the_one_registry_and_reads_an_empty_payload() -> None:
    kinds = [cls.KIND for cls in ev.KINDS]
    assert len(kinds) == len(set(kinds)) == 34 and all(kinds)
    assert {"change.sign_refused", "auth.locked", "session.revoked", "key.created", "drift.cleared",
            "notify.failed", "log.checkpoint", "hooks.attested", "config.loaded", "access.snapshot", "auth.signed_in",
            "access.review_signed", "audit.reconciled", "audit.exported", "key.rotated",
            "witness.refused"} <= set(kinds)
    for cls in ev.KINDS:  # payloads written before a field existed read back with its default
        assert ev.parse(cls.KIND, {}) == cls()
        assert cls.from_payload(cls().to_payload()) == cls()


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
