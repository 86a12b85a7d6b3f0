"""Reconciliation: a commit written into the bare repo behind the hooks' back is caught, and more."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatekeeper.audit.reconcile import Commit, Deployed, Result, match
from tests.audit.conftest import PERIOD, cli
from tests.support.git import Repo, make_repo, no_git_env
from tests.support.plant import Plant, make_plant
from tests.support.service import Service, running

T = "2026-03-0{}T12:00:00.000000Z"


def dep(seq: int, day: int, new: str, commits: tuple[str, ...] = (), change_id: int | None = 1,
        kind: str = "change.deployed", allowed: bool = True) -> Deployed:
    return Deployed(seq=seq, at=T.format(day), actor="alice", kind=kind, change_id=change_id, old="0" * 40,
                    new=new, commits=commits or (new,), allowed=allowed)


def c(sha: str, day: int = 1) -> Commit:
    return Commit(sha, T.format(day)[:19] + "Z", f"subject {sha}")


def test_match_windows_and_flags() -> None:
    history = [c("a"), c("b"), c("c"), c("d")]  # newest first
    d1, d2 = dep(1, 2, "d"), dep(2, 4, "b", ("b",), change_id=7, kind="emergency.deployed")
    matched, gaps = match(history, [d1, d2], T.format(1), T.format(9))
    assert [(x.sha, d.seq) for x, d in matched] == [("b", 2), ("d", 1)]
    assert [(g.commit.sha, g.window) for g in gaps] == [("a", (T.format(4), "9999-12-31T23:59:59.999999Z")),
                                                        ("c", (T.format(2), T.format(4)))]
    # A period before d arrived: nothing reached the branch in it, whatever the commit dates say.
    assert match(history, [d1, d2], T.format(0)[:10] + "T00:00:00Z", T.format(1)) == ([], [])
    # A period between the two deployments sees c's window and neither deployment.
    matched, gaps = match(history, [d1, d2], T.format(3), T.format(4)[:10] + "T00:00:00Z")
    assert matched == [] and [g.commit.sha for g in gaps] == ["c"]
    lines = Result("r", "refs/heads/main", "s", "e", "a", matched=[(c("b"), d2)]).lines()
    assert lines[1].startswith("EMERGENCY b change 7 deployed")


def test_a_deployment_the_gate_did_not_allow_matches_nothing() -> None:
    matched, gaps = match([c("x")], [dep(1, 2, "x", change_id=None, allowed=False)], T.format(1), T.format(9))
    assert matched == [] and gaps[0].line() == "UNMATCHED x 2026-03-01T12:00:00Z subject x"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Plant, Repo, Service]]:
    plant = make_plant(tmp_path_factory.mktemp("reconcile") / "plant")
    repo = make_repo(plant)
    with running(plant) as svc:
        repo.commit({"README.md": "# plant\n"}, "bootstrap")
        assert repo.push("HEAD:refs/heads/main").ok
        repo.checkout("topic", create=True)
        repo.commit({"config/a.txt": "a=1\n"}, "set a")
        assert repo.push("HEAD:refs/heads/topic").ok
        assert svc.sign(1, "carol").status_code == 201
        assert repo.push("HEAD:refs/heads/main").ok
        yield plant, repo, svc


def bare_git(bare: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["git", f"--git-dir={bare}", *args], env=no_git_env(env), capture_output=True,
                          text=True, check=True).stdout.strip()


def sneak_commit(bare: Path) -> str:
    """A commit written straight into the bare repo: commit-tree + update-ref run no hooks."""
    blob = subprocess.run(["git", f"--git-dir={bare}", "hash-object", "-w", "--stdin"], input="a=666\n",
                          env=no_git_env(), capture_output=True, text=True, check=True).stdout.strip()
    index = {"GIT_INDEX_FILE": str(bare / "sneak-index")}
    bare_git(bare, "read-tree", "refs/heads/main", env=index)
    bare_git(bare, "update-index", "--add", "--cacheinfo", f"100644,{blob},config/a.txt", env=index)
    tree = bare_git(bare, "write-tree", env=index)
    when = {"GIT_COMMITTER_DATE": "2001-01-01T00:00:00Z", "GIT_AUTHOR_DATE": "2001-01-01T00:00:00Z",
            "GIT_COMMITTER_NAME": "Mallory", "GIT_COMMITTER_EMAIL": "mallory@plant.example",
            "GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "mallory@plant.example"}
    sha = bare_git(bare, "commit-tree", tree, "-p", "refs/heads/main", "-m", "quiet tweak", env=when)
    bare_git(bare, "update-ref", "refs/heads/main", sha)
    os.unlink(bare / "sneak-index")
    return sha


def reconcile(plant: Plant, location: Path | str, *extra: str) -> tuple[int, list[str]]:
    """Over the last hour and the next: the backdated commit's own date lies far outside."""
    now = datetime.now(UTC)
    start, end = ((now + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in (-1, 1))
    rc, out, err = cli(plant, "audit", "reconcile", "--repo", str(location), "--branch", "main",
                       "--from", start, "--to", end, *extra)
    assert rc in (0, 1), err
    return rc, out.splitlines()


def test_reconcile_catches_what_bypassed_the_hooks(setup: tuple[Plant, Repo, Service],
                                                   tmp_path: Path) -> None:
    plant, repo, _ = setup
    deployed = repo.head()
    rc, lines = reconcile(plant, repo.bare, "-v")
    assert rc == 0, lines
    assert "2 commit(s) reached the branch in the period, 2 matched (0 emergency, 1 without a change " \
           "request), 0 unmatched, 0 deployed commit(s) missing, 0 hook drift finding(s)" in lines[0]
    assert f"MATCHED {deployed} change 1 deployed" in "\n".join(lines)

    # (1) a backdated commit written into the bare repo: the window, not its date, puts it in the period
    sneaky = sneak_commit(repo.bare)
    rc, lines = reconcile(plant, repo.bare)
    assert rc == 1
    assert f"UNMATCHED {sneaky} 2001-01-01T00:00:00Z quiet tweak" in lines
    # the same through a URL (a mirror clone): no hook drift check, said so
    rc, lines = reconcile(plant, f"file://{repo.bare}")
    assert rc == 1 and f"UNMATCHED {sneaky} 2001-01-01T00:00:00Z quiet tweak" in lines
    assert "NOTE hook drift not checked: the repository is not a local bare repo" in lines

    # (2) a hook edited on the server
    hook = repo.bare / "hooks" / "pre-receive"
    original = hook.read_bytes()
    hook.write_bytes(original + b"\nexit 0\n")
    rc, lines = reconcile(plant, repo.bare)
    assert rc == 1 and any(ln.startswith("DRIFT pre-receive: hash ") and "differs from attested" in ln
                           for ln in lines)

    # (3) the evidence pack carries all of it in exceptions.csv
    rc, _, err = cli(plant, "audit", "export", "--from", PERIOD[0], "--to", PERIOD[1], "--format", "zip",
                     "-o", str(tmp_path / "pack.zip"))
    assert rc == 0, err
    with zipfile.ZipFile(tmp_path / "pack.zip") as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("exceptions.csv").decode(), newline="")))
        verification = zf.read("verification.txt").decode()
    kinds = [(r["kind"], r["repo"], r["ref"]) for r in rows]
    assert ("reconcile-gap", "plant-a-ot", "refs/heads/main") in kinds
    assert ("hook-drift", "plant-a-ot", "") in kinds
    gap = next(r for r in rows if r["kind"] == "reconcile-gap")
    assert gap["detail"].startswith(f"UNMATCHED {sneaky} 2001-01-01T00:00:00Z quiet tweak: no gate-approved")
    assert gap["actor"] == "mallory@plant.example"
    assert f"UNMATCHED {sneaky}" in verification
    hook.write_bytes(original)

    # (4) history rewound behind the hooks: the deployed commit of change 1 is missing from main
    bare_git(repo.bare, "update-ref", "refs/heads/main", f"{deployed}~1")
    rc, lines = reconcile(plant, repo.bare)
    assert rc == 1
    assert any(ln.startswith(f"MISSING {deployed} change 1 deployed ") for ln in lines)


def test_bad_repo_and_unknown_name(setup: tuple[Plant, Repo, Service], tmp_path: Path) -> None:
    plant, repo, _ = setup
    rc, _, err = cli(plant, "audit", "reconcile", "--repo", str(tmp_path), "--branch", "main", "--from",
                     PERIOD[0], "--to", PERIOD[1])
    assert rc == 2 and "is not a git repository" in err
    rc, _, err = cli(plant, "audit", "reconcile", "--repo", str(repo.bare), "--branch", "main", "--from",
                     PERIOD[0], "--to", PERIOD[1], "--name", "other")
    assert rc == 2 and "'other' is not in the policy" in err
    for branch, protected in (("fix/main", False), ("release/2026/q1", True)):
        rc, out, err = cli(plant, "audit", "reconcile", "--repo", str(repo.bare), "--branch", branch, "--from",
                           PERIOD[0], "--to", PERIOD[1])
        note = f"NOTE {branch} is not a protected branch of plant-a-ot under the current policy"
        assert rc in (0, 1) and (note in out) is not protected, out + err


def test_pack_notes_a_repo_it_cannot_read(setup: tuple[Plant, Repo, Service], tmp_path: Path) -> None:
    plant, repo, _ = setup
    moved = repo.bare.with_name("moved.git")
    repo.bare.rename(moved)
    try:
        rc, _, err = cli(plant, "audit", "export", "--from", PERIOD[0], "--to", PERIOD[1], "--format", "zip",
                         "-o", str(tmp_path / "pack.zip"))
    finally:
        moved.rename(repo.bare)
    assert rc == 0, err
    with zipfile.ZipFile(tmp_path / "pack.zip") as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("exceptions.csv").decode(), newline="")))
    note = next(r for r in rows if r["kind"] == "reconcile-gap")
    assert note["detail"].startswith(f"not reconciled: the bare repo attested at {repo.bare.resolve()} cannot be "
                                     "read from where this pack was built (no such folder)")
