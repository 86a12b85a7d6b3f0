"""actions/push.py with real SQLite and the file directory: gather, decide, record intents, settle."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlmodel import select

from gatekeeper.actions import push
from gatekeeper.actions.changes import sign
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import HookRequest, SignRequest
from gatekeeper.gitio import spool as hookspool
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import ChangePath, DeployIntent
from tests.actions.conftest import TOKEN

NULL = "0" * 40
MAIN_OLD = "a" * 40


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def change(path: str, content: str) -> dict[str, Any]:
    return {"path": path, "status": "added", "old_blob": NULL, "new_blob": sha(content), "old_mode": "000000",
            "new_mode": "100644"}


def note(intents: list[dict[str, Any]], name: str = "intents/1-0.json", at: float = 100.0) -> dict[str, Any]:
    """A deploy-intent note as the hook sends it (``gitio.spool``), sealed with the hook token."""
    record = {"pid": 1, "start": "", "at": at, "intents": [{k: i[k] for k in ("id", "ref", "old", "new")}
                                                           for i in intents]}
    return {"file": name, "kind": "intent", "repo": "plant-a-ot", "record": record,
            "mac": hookspool.seal("intent", "plant-a-ot", record, TOKEN)}


def fact(intent: dict[str, Any], matched: bool, actual: str, file: str = "intents/1-0.json",
         **kw: Any) -> dict[str, Any]:
    """Settle facts for ``intent``: what the ref's reflog records (``gitio.reflog.evidence``)."""
    return {"id": intent["id"], "ref": intent["ref"], "old": intent["old"], "new": intent["new"], "actual": actual,
            "file": file, "noted_at": 100.0, "reflog": True, "first_at": 50.0, "matches": [101.0] if matched else [],
            **kw}


def req(updates: list[dict[str, Any]], pusher: str | None = "alice", **kw: Any) -> HookRequest:
    return HookRequest.model_validate({"repo": "plant-a-ot", "pusher": pusher, "updates": updates, **kw})


def topic(services: Services, ref: str, *files: tuple[str, str], head: str | None = None) -> int:
    changes = [change(p, c) for p, c in files]
    body = {"ref": ref, "old": NULL, "new": head or sha(ref + repr(files)), "target": "main", "base": MAIN_OLD,
            "changes": changes}
    out = push.record_push(services, req([body]))
    opened = next(m for m in out["messages"] if "change request" in m)
    return int(opened.split("change request ")[1].split(" ")[0])


def approve(services: Services, cid: int, who: str = "carol") -> None:
    user = services.directory.get_user(who)
    assert user is not None
    sign(services, cid, user, SignRequest(decision="approve", meaning="Reviewed and approved"))


def main_update(*files: tuple[str, str], new: str = "b" * 40) -> dict[str, Any]:
    return {"ref": "refs/heads/main", "old": MAIN_OLD, "new": new, "fast_forward": True,
            "changes": [change(p, c) for p, c in files]}


def kinds(services: Services) -> list[str]:
    with services.store.read() as s:
        return [e.kind for e in log.entries(s)]


def payloads(services: Services, kind: str) -> list[dict[str, Any]]:
    with services.store.read() as s:
        return [e.payload for e in log.entries(s) if e.kind == kind]


def test_allowed_push_records_an_intent_and_post_receive_confirms_it(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    decided = push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))
    assert decided["allow"] is True and [i["ref"] for i in decided["intents"]] == ["refs/heads/main"]
    intent = payloads(services, "deploy.intent")[0]
    assert intent["changes"][0]["change_id"] == cid and intent["changes"][0]["revision"] == 1
    assert intent["changes"][0]["approvals"][0]["username"] == "carol"
    assert "push.allowed" not in kinds(services)  # nothing claimed before git did it
    out = push.record_push(services, req([main_update(("cfg/a.txt", "A"))],
                                         intents=[i["id"] for i in decided["intents"]],
                                         state=[note(decided["intents"])]))
    assert any(f"change request {cid} deployed" in m for m in out["messages"])
    assert kinds(services)[-3:] == ["deploy.intent", "change.deployed", "push.allowed"]
    deployed = payloads(services, "change.deployed")[0]
    assert deployed["intent_id"] == decided["intents"][0]["id"] and deployed["settled_by"] == "post-receive"
    with services.store.read() as s:
        assert s.exec(select(DeployIntent)).one().state == "confirmed"
        assert q.get(s, cid).state == "deployed"  # type: ignore[union-attr]
        assert not s.exec(select(ChangePath).where(ChangePath.change_id == cid)).all()  # out of the index


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


def test_a_cr_claimed_by_an_open_intent_is_not_deployed_twice(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    assert push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))["allow"]
    second = push.decide_push(services, req([main_update(("cfg/a.txt", "A"), new="c" * 40)]))
    assert not second["allow"] and "being deployed by another push" in " ".join(second["messages"])
    assert payloads(services, "push.refused")[-1]["refs"][0]["allow"] is False


def test_a_topic_push_does_not_revise_a_cr_an_open_intent_deploys(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))
    other = topic(services, "refs/heads/t", ("cfg/a.txt", "A2"))
    assert other != cid
    with services.store.read() as s:
        assert q.get(s, cid).current_revision == 1  # type: ignore[union-attr]


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


def test_a_protected_update_without_a_decision_is_recorded_as_not_allowed(services: Services) -> None:
    push.record_push(services, req([main_update(("cfg/z.txt", "Z"))]))
    d = payloads(services, "change.deployed")[0]
    assert d["change_id"] is None and d["allowed_by_gate"] is False


def test_spooled_refusals_are_logged_as_refusals_with_when_they_happened(services: Services) -> None:
    spooled = [{"pusher": "mallory", "push_options": [], "refused_at": "2026-01-02T03:04:05Z",
                "reason": "service unreachable",
                "refs": [{"ref": "refs/heads/main", "old": MAIN_OLD, "new": "e" * 40}]}]
    sealed = [{"file": "spool/1.json", "kind": "spool", "repo": "plant-a-ot", "record": r,
               "mac": hookspool.seal("spool", "plant-a-ot", r, TOKEN)} for r in spooled]
    out = push.record_push(services, req([], state=sealed))
    assert out["rejected"] == []
    p = payloads(services, "push.refused")[0]
    assert p["spooled"] is True and p["refused_at"] == "2026-01-02T03:04:05Z" and p["pusher"] == "mallory"


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


def test_the_gate_reads_only_crs_whose_current_revision_touches_the_push(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    topic(services, "refs/heads/t", ("cfg/other.txt", "O"))  # revision 2 no longer touches cfg/a.txt
    with services.store.read() as s:
        assert q.candidates_touching(s, "plant-a-ot", "main", ["cfg/a.txt"]) == []
        found = q.candidates_touching(s, "plant-a-ot", "main", ["cfg/other.txt", "cfg/nothing"])
        assert [(cr.id, rev.number) for cr, rev in found] == [(cid, 2)]
    refused = push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))
    assert not refused["allow"] and "no change request covers it" in refused["messages"][0]
    assert refused["reasons"] == [{"code": "gate.unapproved_file", "message": refused["messages"][0]}]  # SPEC §12
    assert json.dumps(refused)  # the hook's answer is plain JSON
    [logged] = payloads(services, "push.refused")
    assert logged["refs"][0]["reasons"] == refused["reasons"]  # the same reason, with its code, in the log


def test_a_late_post_receive_for_an_update_already_settled_records_nothing_twice(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    intent = push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))["intents"][0]
    push.record_push(services, req([], settle=[fact(intent, True, "b" * 40)], state=[note([intent])]))
    out = push.record_push(services, req([main_update(("cfg/a.txt", "A"))]))
    assert any("already recorded" in m for m in out["messages"])
    assert [d["change_id"] for d in payloads(services, "change.deployed")] == [cid]
