"""Open intents settled from what their refs really hold (``actions.settle``)."""

from __future__ import annotations

from gatekeeper.actions import push
from gatekeeper.actions.context import Services
from tests.actions.test_push import approve, fact, main_update, note, payloads, req, topic


def test_later_settlement_from_the_refs_real_value(services: Services) -> None:
    a = topic(services, "refs/heads/a", ("cfg/a.txt", "A"))
    approve(services, a)
    first = push.decide_push(services, req([main_update(("cfg/a.txt", "A"), new="b" * 40)]))["intents"][0]
    b = topic(services, "refs/heads/b", ("cfg/b.txt", "B"))
    approve(services, b)
    update_b = main_update(("cfg/b.txt", "B"), new="d" * 40)
    second = push.decide_push(services, req([update_b]))["intents"][0]
    settle = [fact(first, True, "b" * 40, commits=["b" * 40]), fact(second, False, "b" * 40)]
    out = push.record_push(services, req([], settle=settle, state=[note([first, second])]))
    assert any("confirmed" in m for m in out["messages"]) and any("voided" in m for m in out["messages"]), out
    deployed = payloads(services, "change.deployed")
    assert [d["change_id"] for d in deployed] == [a] and deployed[0]["settled_by"] == "hook"
    assert payloads(services, "deploy.voided")[0]["actual"] == "b" * 40
    assert payloads(services, "push.allowed")[0]["settled_by"] == "hook"
    # Settling again changes nothing: an intent is settled once.
    push.record_push(services, req([], settle=settle, state=[note([first, second])]))
    assert len(payloads(services, "change.deployed")) == 1 and len(payloads(services, "deploy.voided")) == 1
