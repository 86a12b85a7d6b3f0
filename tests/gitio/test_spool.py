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


def test_own_intents_are_found_by_the_same_receive_pack(bare: Path) -> None:
    spool.record_intents([{"id": 4, "ref": "refs/heads/main", "old": "0" * 40, "new": "1" * 40}])
    paths, ids = spool.own_intents()
    assert ids == [4] and len(paths) == 1
    assert spool.stale_intents() == ([], [])  # ours, and we are alive
    live, gone = spool.intent_ids(str(bare))
    assert 4 in live and not gone


def test_notes_of_a_finished_push_are_stale_and_settled_from_the_refs(bare: Path) -> None:
    main = git(bare, "rev-parse", "refs/heads/main")
    topic = git(bare, "rev-parse", "refs/heads/topic")
    folder = bare / "gatekeeper" / "intents"
    folder.mkdir(parents=True)
    entries = [{"id": 1, "ref": "refs/heads/main", "old": "0" * 40, "new": main},       # git made it
               {"id": 2, "ref": "refs/heads/main", "old": main, "new": topic},          # git did not
               {"id": 3, "ref": "refs/heads/gone", "old": main, "new": "0" * 40}]       # a deletion git made
    (folder / "1-0.json").write_text(json.dumps({"pid": dead_pid(), "start": "", "intents": entries}))
    paths, stale = spool.stale_intents()
    assert len(paths) == 1 and [e["id"] for e in stale] == [1, 2, 3]
    facts = {f["id"]: f for f in spool.settle_facts(stale)}
    assert facts[1] == {"id": 1, "actual": main, "reached": True, "commits": [main]}
    assert (facts[2]["actual"], facts[2]["reached"]) == (main, False)
    assert (facts[3]["actual"], facts[3]["reached"]) == (None, True)
    spool.remove(paths)
    assert spool.stale_intents() == ([], [])


def test_refusals_are_spooled_until_delivered(bare: Path) -> None:
    assert spool.spooled() == ([], [])
    spool.spool_refusal({"pusher": "mallory", "refused_at": "t",
                         "refs": [{"ref": "refs/heads/main", "old": "1" * 40, "new": "2" * 40}]})
    paths, records = spool.spooled()
    assert [r["pusher"] for r in records] == ["mallory"]
    spool.remove(paths)
    assert spool.spooled() == ([], [])
    assert not list((bare / "gatekeeper" / "spool").glob("*.tmp"))


def test_a_spool_file_the_service_would_refuse_is_set_aside(bare: Path) -> None:
    folder = bare / "gatekeeper" / "spool"
    folder.mkdir(parents=True)
    (folder / "1.json").write_text(json.dumps({"pusher": "x", "refused_at": "t", "refs": [{"ref": "r", "old": "z",
                                                                                           "new": "0" * 40}]}))
    (folder / "2.json").write_text("not json")
    assert spool.spooled() == ([], [])
    assert (folder / "1.json.bad").exists()
