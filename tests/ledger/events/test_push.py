"""Push and deploy log kinds (``ledger.events.push``): intents, outcomes, deployments round-trip."""

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


def test_a_deployment_keeps_its_approvals_commits_and_reasons() -> None:
    deployed = ev.ChangeDeployed(change_id=3, repo="r", ref="refs/heads/main", old="a" * 40, new="b" * 40,
                                 revision=2, fingerprint="f" * 64, commits=("c1", "c2"), state="deployed",
                                 approvals=({"username": "carol", "group": "leads"},), intent_id=5,
                                 reasons=(ev.Reason("gate.deploy", "deploys CR 3"),))
    payload = deployed.to_payload()
    assert payload["commits"] == ["c1", "c2"] and payload["reasons"] == [{"code": "gate.deploy",
                                                                          "message": "deploys CR 3"}]
    assert ev.ChangeDeployed.from_payload(payload) == deployed
    emergency = ev.EmergencyDeployed(change_id=4, reason="line 3 down", deadline="2026-01-04T00:00:00Z")
    assert ev.parse(ev.EmergencyDeployed.KIND, emergency.to_payload()) == emergency
    assert emergency.settled_by == "post-receive"
