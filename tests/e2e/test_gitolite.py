"""Gatekeeper behind gitolite3 over SSH (issue 13): real sshd, real gitolite, real pushes with one key
per person. The pusher is GL_USER (the key's name), the hook token comes from ``hook_token_file``
(hooks under sshd do not inherit the service's environment), the hooks run as the gitolite user
with Debian's python3 and survive ``gitolite setup``; gitolite's own access rules still apply."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.git import PushResult, commit_all, git
from tests.support.gitolite import Gitolite, hook_package, install_hooks, running_gitolite, token_file_plant
from tests.support.plant import Plant
from tests.support.service import Service, running

pytestmark = pytest.mark.e2e

CONF = """repo gitolite-admin
    RW+ = admin
repo plant-a-ot
    RW+ = alice zed
    R   = carol dave
"""


@dataclass
class Env:
    gl: Gitolite
    plant: Plant
    svc: Service
    token: Path


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    package = hook_package()
    with running_gitolite(["alice", "carol", "dave", "zed"]) as gl:
        gl.configure(CONF)
        plant = token_file_plant("gk-glplant-", gl.user.uid, gl.user.gid)
        with running(plant) as svc:
            proc = install_hooks(plant.config, gl.repo("plant-a-ot"), "plant-a-ot", "gitolite", package)
            assert proc.returncode == 0, proc.stderr
            gl.configure(CONF + "repo other\n    RW+ = alice\n")  # a compile: our hooks must survive it
            yield Env(gl, plant, svc, plant.dir / "hook-token")


def clone(env: Env, person: str, tmp: Path) -> Path:
    work = tmp / f"work-{person}"
    proc = subprocess.run(["git", "clone", "-q", env.gl.url("plant-a-ot"), str(work)], env=env.gl.env(person),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    git(work, "config", "user.name", person)
    git(work, "config", "user.email", f"{person}@plant.example")
    return work


def push(env: Env, person: str, work: Path, refspec: str) -> PushResult:
    # GATEKEEPER_USER on the client must not matter: ssh does not carry it, gitolite names the pusher.
    proc = subprocess.run(["git", "push", "--porcelain", "origin", refspec], cwd=work,
                          env=env.gl.env(person, {"GATEKEEPER_USER": "carol"}), capture_output=True, text=True)
    return PushResult.of(proc)


def test_hooks_survive_gitolite_setup_and_run_as_the_gitolite_user(env: Env) -> None:
    hooks = env.gl.repo("plant-a-ot") / "hooks"
    for hook in ("pre-receive", "post-receive"):
        assert "gatekeeper-managed-hook" in (hooks / hook).read_text()
        assert (hooks / hook).stat().st_uid == env.gl.user.uid
    assert (hooks / "update").is_symlink()  # gitolite's own update hook still in place
    assert "/usr/bin/python3" in (hooks / "pre-receive").read_text()


def test_topic_approve_deploy_over_ssh(env: Env, tmp_path: Path) -> None:
    work = clone(env, "alice", tmp_path)
    git(work, "checkout", "-q", "-b", "setpoints")
    commit_all(work, {"cfg/line3.txt": "setpoint 42\n"}, "line 3 setpoint")
    r = push(env, "alice", work, "HEAD:refs/heads/setpoints")
    assert r.ok, r.stderr
    cid = r.change_id()
    cr = env.svc.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["requested_by"] == "alice" and cr["revisions"][0]["pushed_by"] == "alice"
    r = push(env, "alice", work, "HEAD:refs/heads/main")
    assert not r.ok and any("refusing refs/heads/main" in ln for ln in r.lines), r.stderr
    assert env.svc.sign(cid, "carol").status_code == 201
    r = push(env, "alice", work, "HEAD:refs/heads/main")
    assert r.ok, r.stderr
    assert f"change request {cid} deployed" in r.text()
    cr = env.svc.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["state"] == "deployed" and cr["deployed_by"] == "alice"


def test_gitolite_denies_before_our_hooks(env: Env, tmp_path: Path) -> None:
    work = clone(env, "dave", tmp_path)  # dave may read, not write
    commit_all(work, {"cfg/dave.txt": "x\n"}, "dave")
    before = len(env.svc.get("/api/v1/log?limit=1000", "dave").json()["entries"])
    r = push(env, "dave", work, "HEAD:refs/heads/dave-topic")
    assert not r.ok and "DENIED" in r.stderr and not r.lines, r.stderr
    assert len(env.svc.get("/api/v1/log?limit=1000", "dave").json()["entries"]) == before


def test_gitolite_user_unknown_to_the_directory_is_refused(env: Env, tmp_path: Path) -> None:
    work = clone(env, "zed", tmp_path)  # zed has a key and RW+ in gitolite, but no directory entry
    git(work, "checkout", "-q", "-B", "main", "origin/main")
    commit_all(work, {"docs/zed.md": "# zed\n"}, "docs only: needs no approval")
    r = push(env, "zed", work, "HEAD:refs/heads/main")
    assert not r.ok
    assert any("pusher 'zed' is not a directory user" in ln for ln in r.lines), r.stderr


def test_token_file_too_open_is_refused_naming_it(env: Env, tmp_path: Path) -> None:
    work = clone(env, "alice", tmp_path)
    git(work, "checkout", "-q", "-B", "main", "origin/main")
    commit_all(work, {"docs/notes.md": "# notes\n"}, "docs")
    env.token.chmod(0o644)
    try:
        r = push(env, "alice", work, "HEAD:refs/heads/main")
    finally:
        env.token.chmod(0o600)
    assert not r.ok
    assert any(f"hook token file {env.token} has mode 0644; it must be 0600 or 0400" in ln for ln in r.lines), r.lines
    assert push(env, "alice", work, "HEAD:refs/heads/main").ok


def test_install_refuses_an_interpreter_the_git_user_cannot_run(env: Env, tmp_path: Path) -> None:
    private = tmp_path / "private"  # like /root/.pyenv: 0700, root's
    private.mkdir(mode=0o700)
    (private / "python3").symlink_to("/usr/bin/python3")
    hook = env.gl.repo("plant-a-ot") / "hooks" / "pre-receive"
    before = hook.read_bytes()
    proc = install_hooks(env.plant.config, env.gl.repo("plant-a-ot"), "plant-a-ot", "gitolite", hook_package(),
                         python=str(private / "python3"))
    assert proc.returncode == 2
    assert f"cannot run the hook interpreter {private / 'python3'} as uid {env.gl.user.uid}" in proc.stderr
    assert "--python" in proc.stderr and hook.read_bytes() == before
