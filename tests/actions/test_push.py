"""actions/push.py with real SQLite and the file directory: gather, decide, record intents, settle."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import select

from gatekeeper.actions import push
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import HookRequest, SignRequest
from gatekeeper.actions.signing import sign
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
