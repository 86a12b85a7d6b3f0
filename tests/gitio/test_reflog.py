"""gitio.reflog: what git's own reflog records of one update, read from a real bare repo."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.gitio import reflog
from tests.support.git import ALICE, git, no_git_env

NULL = "0" * 40


def test_the_reflog_records_each_update_git_made(tmp_path: Path) -> None:
    bare = tmp_path / "r.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(bare, "config", "core.logAllRefUpdates", "always")  # what install-hooks sets and attests
    empty = git(bare, "hash-object", "-t", "tree", "-w", "/dev/null")
    one = git(bare, "commit-tree", empty, "-m", "one", env=no_git_env(ALICE))
    two = git(bare, "commit-tree", empty, "-p", one, "-m", "two", env=no_git_env(ALICE))
    git(bare, "update-ref", "-m", "push", "refs/tags/v1", one, "")
    git(bare, "update-ref", "-m", "push", "refs/heads/main", one, "")
    git(bare, "update-ref", "-m", "push", "refs/heads/main", two, one)
    seen = reflog.evidence(str(bare), "refs/heads/main", one, two)
    assert seen["reflog"] is True and seen["first_created"] is True and len(seen["matches"]) == 1  # type: ignore[arg-type]
    assert seen["first_at"] == seen["matches"][0]  # type: ignore[index]
    assert reflog.evidence(str(bare), "refs/heads/main", two, one)["matches"] == []  # never happened
    assert reflog.evidence(str(bare), "refs/tags/v1", NULL, one)["matches"]  # tags too: logAllRefUpdates=always
    assert reflog.evidence(str(bare), "refs/heads/gone", one, two) == {
        "reflog": False, "first_at": None, "first_created": False, "matches": []}


def test_a_ref_name_that_is_no_plain_ref_reads_nothing(tmp_path: Path) -> None:
    """Settle facts come from the hook; a forged name must not read a file outside logs/."""
    assert reflog.path_of(str(tmp_path), "refs/heads/../../config") is None
    assert reflog.path_of(str(tmp_path), "HEAD") is None
    assert reflog.path_of(str(tmp_path), "refs/heads/.hidden") is None
    assert reflog.lines(str(tmp_path), "refs/heads/../../x") is None
    assert reflog.path_of(str(tmp_path), "refs/heads/a/b") == str(tmp_path / "logs" / "refs" / "heads" / "a" / "b")
