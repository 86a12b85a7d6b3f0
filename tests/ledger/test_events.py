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
    refused = ev.PushRefused(repo="r", spooled=True, refused_at="2026-01-01T00:00:00Z",
                             refs=(ev.RefOutcome(ref="refs/heads/main", reasons=("down",)),))
    assert ev.PushRefused.from_payload(refused.to_payload()) == refused


def test_payloads_written_before_a_field_existed_read_with_defaults() -> None:
    old = {"change_id": 3, "repo": "r", "ref": "refs/heads/main", "old": "a", "new": "b", "revision": 1,
           "fingerprint": "f", "commits": ["c"], "state": "deployed", "gate_seq": 12}
    d = ev.ChangeDeployed.from_payload(old)
    assert (d.change_id, d.commits, d.allowed_by_gate, d.intent_id) == (3, ("c",), True, None)
    assert ev.parse("change.opened", {}) is None
