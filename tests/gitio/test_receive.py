"""gitio.receive (the hook's body builder) and hookconfig against a real bare repo: what the service is
told about a push — changes, every commit with its co-authors, contents, and the tag context."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from gatekeeper import config as config_mod
from gatekeeper.gitio.hookconfig import load
from gatekeeper.gitio.pushinfo import RefUpdate
from gatekeeper.gitio.receive import PayloadBuilder
from gatekeeper.policy.registry import format_of
from tests.support.git import fast_import_chain, git, init_work
from tests.support.plant import Plant, make_plant

ZERO = "0" * 40


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Plant, Path, Path]:
    plant = make_plant(tmp_path / "plant")
    work = init_work(tmp_path / "work", "plant\n")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    for k in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(k)
    monkeypatch.chdir(bare)
    return plant, work, bare


def test_topic_update_carries_changes_all_commits_and_context(setup: tuple[Plant, Path, Path]) -> None:
    plant, work, bare = setup
    base = git(work, "rev-parse", "HEAD")
    people = [("Carol", "carol@plant.example")] + [("Alice", "alice@plant.example")] * 5100
    tip = fast_import_chain(work, "topic", people, path="erp/postings.csv")
    git(work, "push", "-q", str(bare), "topic")
    cfg = load(str(plant.config))
    body = PayloadBuilder(cfg, "plant-a-ot", []).update(RefUpdate(ZERO, tip, "refs/heads/topic"), with_content=True)
    assert body["target"] == "main" and body["base"] == base
    commits = body["commits"]
    assert isinstance(commits, list) and len(commits) == 5101 and commits[-1]["author_email"] == "carol@plant.example"
    (change,) = body["changes"]  # type: ignore[misc]
    assert change["path"] == "erp/postings.csv" and change["format"] == "erp-mapping-csv"
    assert base64.b64decode(change["new_content"]) == b"commit 5100\n"
    assert [c["path"] for c in body["context"]] == ["erp/postings.csv"]  # type: ignore[union-attr]


def test_protected_update_says_whether_it_fast_forwards(setup: tuple[Plant, Path, Path]) -> None:
    plant, work, bare = setup
    root = git(work, "rev-parse", "HEAD")
    tip = fast_import_chain(work, "main", [("Alice", "alice@plant.example")], path="docs/a.md")
    git(work, "push", "-q", str(bare), "main")
    builder = PayloadBuilder(load(str(plant.config)), "plant-a-ot", [])
    body = builder.update(RefUpdate(root, tip, "refs/heads/main"), with_content=False, with_commits=False)
    assert body["fast_forward"] is True and body["base"] == root and "commits" not in body
    back = builder.update(RefUpdate(tip, root, "refs/heads/main"), with_content=False, with_commits=False)
    assert back["fast_forward"] is False


@pytest.mark.parametrize("path", ["recipes/line1/r.xml", "erp/gl.csv", "erp/notes.txt", "tags/ignition/a.json",
                                  "tags/x.txt", "docs/a.md", "README.md", "other/x"])
def test_hook_and_service_agree_on_every_paths_format(setup: tuple[Plant, Path, Path], path: str) -> None:
    plant = setup[0]
    assert load(str(plant.config)).format_of(path) == format_of(path, config_mod.load(plant.config).categories)
