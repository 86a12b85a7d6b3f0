"""What git did with a decision (``actions.deploy``): confirmed, voided, unrecorded, emergency."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.actions import push
from gatekeeper.actions.context import Services
from gatekeeper.store import changes as q
from tests.actions.test_push import NULL, approve, fact, kinds, main_update, note, payloads, req, topic


def test_an_update_git_did_not_make_is_voided_not_deployed(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    decided = push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))
    # post-receive lists only the updates git made: here just a topic branch.
    push.record_push(services, req([{"ref": "refs/heads/x", "old": NULL, "new": NULL}],
                                   intents=[i["id"] for i in decided["intents"]], state=[note(decided["intents"])]))
    voided = payloads(services, "deploy.voided")
    assert len(voided) == 1 and voided[0]["change_ids"] == [cid]
    assert "push.allowed" not in kinds(services) and "change.deployed" not in kinds(services)
    with services.store.read() as s:
        assert q.get(s, cid).state == "approved"  # type: ignore[union-attr]


def test_a_protected_update_without_a_decision_is_recorded_as_not_allowed(services: Services) -> None:
    push.record_push(services, req([main_update(("cfg/z.txt", "Z"))]))
    d = payloads(services, "change.deployed")[0]
    assert d["change_id"] is None and d["allowed_by_gate"] is False


def test_emergency_is_taken_from_the_intent(services: Services) -> None:
    body = main_update(("cfg/e.txt", "E"))
    body["changes"][0]["new_content"] = "RQ=="
    r = req([body], pusher="erin", push_options=["gatekeeper.emergency=line 3 down"])
    decided = push.decide_push(services, r)
    assert decided["allow"] and payloads(services, "deploy.intent")[0]["emergency"]["reason"] == "line 3 down"
    # erin is no longer on call when post-receive runs: the decision is not taken again.
    plant_dir = Path(str(services.config.path)).parent
    from tests.support.plant import GROUPS, directory_toml

    (plant_dir / "directory.toml").write_text(directory_toml(groups={**GROUPS, "ot-emergency": ([], [])}))
    push.record_push(services, req([body], pusher="erin", push_options=["gatekeeper.emergency=line 3 down"],
                                   intents=[i["id"] for i in decided["intents"]], state=[note(decided["intents"])]))
    em = payloads(services, "emergency.deployed")
    assert len(em) == 1 and em[0]["memberships"][0]["group"] == "ot-emergency" and em[0]["change_id"]


def test_a_late_post_receive_for_an_update_already_settled_records_nothing_twice(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    intent = push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))["intents"][0]
    push.record_push(services, req([], settle=[fact(intent, True, "b" * 40)], state=[note([intent])]))
    out = push.record_push(services, req([main_update(("cfg/a.txt", "A"))]))
    assert any("already recorded" in m for m in out["messages"])
    assert [d["change_id"] for d in payloads(services, "change.deployed")] == [cid]
