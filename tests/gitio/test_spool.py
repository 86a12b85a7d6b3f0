"""The hook's state in the bare repo: intent notes, their owner's liveness, settle facts, spooled refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gatekeeper.gitio import spool
from tests.support.git import git


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bare = tmp_path / "r.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    work = tmp_path / "w"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    for i in (1, 2):
        (work / "f").write_text(f"{i}\n")
        git(work, "add", "-A")
        git(work, "-c", "user.name=A", "-c", "user.email=a@x", "commit", "-q", "-m", f"c{i}")
    git(work, "push", "-q", "origin", "HEAD~1:refs/heads/main", "HEAD:refs/heads/topic")
    monkeypatch.setenv("GIT_DIR", str(bare))
    monkeypatch.chdir(bare)
    return bare


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


TOKEN = "t0ken"


def test_own_intents_are_found_by_the_same_receive_pack(bare: Path) -> None:
    spool.record_intents([{"id": 4, "ref": "refs/heads/main", "old": "0" * 40, "new": "1" * 40}], "r", TOKEN)
    files, ids = spool.own_intents()
    assert ids == [4] and len(files) == 1 and files[0].name == f"intents/{Path(files[0].path).name}"
    assert spool.stale_intents() == []  # ours, and we are alive
    live, gone = spool.intent_ids(str(bare))
    assert 4 in live and not gone


def test_every_file_is_sealed_with_the_hook_token(bare: Path) -> None:
    """Issue 22 item 2: the seal covers kind, repo and record; the service checks it with ``verify``."""
    spool.record_intents([{"id": 4, "ref": "refs/heads/main", "old": "0" * 40, "new": "1" * 40}], "r", TOKEN)
    [f] = spool.own_intents()[0]
    assert f.repo == "r" and spool.verify(spool.INTENT, "r", f.record, f.mac, TOKEN)
    assert not spool.verify(spool.INTENT, "r", f.record, f.mac, "another token")
    assert not spool.verify(spool.INTENT, "other-repo", f.record, f.mac, TOKEN)
    assert not spool.verify(spool.SPOOL, "r", f.record, f.mac, TOKEN)  # a note is not a refusal
    edited = json.loads(json.dumps(f.record))
    edited["intents"][0]["new"] = "2" * 40
    assert not spool.verify(spool.INTENT, "r", edited, f.mac, TOKEN)
    assert not spool.verify(spool.INTENT, "r", f.record, f.mac, "")  # no token: nothing verifies


def test_notes_of_a_finished_push_are_stale_and_settled_from_the_reflog(bare: Path) -> None:
    """Issue 22 item 1: settle facts carry what the ref's reflog records, never ancestry."""
    git(bare, "config", "core.logAllRefUpdates", "always")
    main = git(bare, "rev-parse", "refs/heads/main")
    topic = git(bare, "rev-parse", "refs/heads/topic")
    git(bare, "update-ref", "-m", "push", "refs/heads/main", topic, main)  # git moves main: main -> topic
    folder = bare / "gatekeeper" / "intents"
    folder.mkdir(parents=True)
    entries = [{"id": 1, "ref": "refs/heads/main", "old": main, "new": topic},          # git made it
               {"id": 2, "ref": "refs/heads/main", "old": topic, "new": main},          # git did not
               {"id": 3, "ref": "refs/heads/gone", "old": main, "new": "0" * 40}]       # no reflog at all
    record = {"pid": dead_pid(), "start": "", "at": 1.0, "intents": entries}
    (folder / "1-0.json").write_text(json.dumps({"kind": "intent", "repo": "r", "record": record,
                                                 "mac": spool.seal("intent", "r", record, TOKEN)}))
    stale = spool.stale_intents()
    assert [f.name for f in stale] == ["intents/1-0.json"]
    facts = {f["id"]: f for f in spool.stale_facts(stale)}
    assert facts[1]["reflog"] is True and len(facts[1]["matches"]) == 1 and facts[1]["commits"] == [topic]
    assert (facts[1]["actual"], facts[1]["file"], facts[1]["noted_at"]) == (topic, "intents/1-0.json", 1.0)
    assert facts[2]["reflog"] is True and facts[2]["matches"] == [] and facts[2]["commits"] == []
    assert (facts[3]["actual"], facts[3]["reflog"]) == (None, False)
    spool.remove([f.path for f in stale])
    assert spool.stale_intents() == []


def test_refusals_are_spooled_until_delivered(bare: Path) -> None:
    assert spool.spooled() == []
    spool.spool_refusal({"pusher": "mallory", "refused_at": "t",
                         "refs": [{"ref": "refs/heads/main", "old": "1" * 40, "new": "2" * 40}]}, "r", TOKEN)
    [f] = spool.spooled()
    assert f.get("pusher") == "mallory" and spool.verify(spool.SPOOL, "r", f.record, f.mac, TOKEN)
    spool.remove([f.path])
    assert spool.spooled() == []
    assert not list((bare / "gatekeeper" / "spool").glob("*.tmp"))


def test_a_file_written_by_hand_is_read_as_it_is_and_set_aside_when_refused(bare: Path) -> None:
    """The hook judges nothing itself: it sends what it read, the service refuses what fails its seal."""
    folder = bare / "gatekeeper" / "spool"
    folder.mkdir(parents=True)
    (folder / "1.json").write_text(json.dumps({"pusher": "x", "refused_at": "t", "refs": []}))
    (folder / "2.json").write_text("not json")
    files = spool.spooled()
    assert [(f.name, f.mac) for f in files] == [("spool/1.json", None), ("spool/2.json", None)]
    assert files[0].get("pusher") == "x" and files[1].record is None
    spool.set_aside([f.path for f in files])
    assert spool.spooled() == [] and (folder / "1.json.bad").exists() and (folder / "2.json.bad").exists()
