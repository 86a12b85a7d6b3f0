"""Gatekeeper behind Apache httpd smart HTTP (issue 13): ``git-http-backend`` as a CGI running as
www-data, Basic auth by mod_authnz_ldap against the test slapd (and an htpasswd variant); the pusher
is REMOTE_USER, the hook token comes from ``hook_token_file`` owned by www-data."""

from __future__ import annotations

import pwd
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.test_ldap_flow import ldap_policy
from tests.support import slapd as ldap
from tests.support.apache import RUN_AS, Apache, LdapAuth, htpasswd_file, running_apache
from tests.support.git import PushResult, commit_all, git, no_git_env
from tests.support.gitolite import hook_package, install_hooks, token_file_plant
from tests.support.plant import Plant
from tests.support.service import Service, running
from tests.support.sshd import readable_dir

pytestmark = [pytest.mark.e2e, pytest.mark.ldap]
LDAP_ENV = {"GK_TEST_LDAP_PW": ldap.SERVICE_PASSWORD}
HTTP_PASSWORDS = {"erin": "erin-http-Secret-1"}


@dataclass
class Env:
    httpd: Apache
    plant: Plant
    svc: Service


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    package = hook_package()
    www = pwd.getpwnam(RUN_AS)
    with ldap.running_slapd() as server:
        plant = token_file_plant("gk-httpplant-", www.pw_uid, www.pw_gid, policy=ldap_policy(server), mode=0o400)
        git_root = readable_dir("gk-httproot-")
        bare = git_root / "plant-a-ot.git"
        git(git_root, "init", "-q", "--bare", "--initial-branch=main", str(bare))
        subprocess.run(["chown", "-R", f"{RUN_AS}:{RUN_AS}", str(bare)], check=True)
        htpasswd = htpasswd_file(plant.dir / "htpasswd", HTTP_PASSWORDS)
        auth = LdapAuth(url=server.url, user_base=ldap.PEOPLE, bind_dn=ldap.SERVICE_DN,
                        bind_password=ldap.SERVICE_PASSWORD)
        with running(plant, env=LDAP_ENV) as svc:
            proc = install_hooks(plant.config, bare, "plant-a-ot", "plain", package, env=LDAP_ENV)
            assert proc.returncode == 0, proc.stderr
            with running_apache(git_root, ldap=auth, htpasswd=htpasswd) as httpd:
                yield Env(httpd, plant, svc)


def run_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env=no_git_env({"GIT_TERMINAL_PROMPT": "0", "GATEKEEPER_USER": "carol"}))


def clone(env: Env, tmp: Path, prefix: str, user: str, password: str) -> Path:
    work = tmp / f"work-{prefix}-{user}"
    proc = run_git(tmp, "clone", "-q", env.httpd.url(prefix, "plant-a-ot", user, password), str(work))
    assert proc.returncode == 0, proc.stderr + env.httpd.log_tail()
    git(work, "config", "user.name", user)
    git(work, "config", "user.email", f"{user}@plant.example")
    return work


def push(work: Path, refspec: str) -> PushResult:
    proc = run_git(work, "push", "--porcelain", "origin", refspec)
    return PushResult.of(proc)


def sign(env: Env, cid: int, user: str) -> requests.Response:
    return requests.post(f"{env.svc.url}/api/v1/changes/{cid}/approvals", timeout=30, json={"decision": "approve"},
                         auth=(user.encode(), ldap.password(user).encode()))


def change(env: Env, cid: int) -> dict[str, object]:
    resp = requests.get(f"{env.svc.url}/api/v1/changes/{cid}", timeout=30,
                        auth=(b"carol", ldap.password("carol").encode()))
    return resp.json()  # type: ignore[no-any-return]


def test_ldap_basic_auth_push_approve_deploy(env: Env, tmp_path: Path) -> None:
    work = clone(env, tmp_path, "ldap", "alice", ldap.password("alice"))  # non-ASCII password, UTF-8
    git(work, "checkout", "-q", "-b", "dosing")
    commit_all(work, {"cfg/dosing.txt": "pump 3: 12 l/h\n"}, "dosing")
    r = push(work, "HEAD:refs/heads/dosing")
    assert r.ok, r.stderr
    cid = r.change_id()
    cr = change(env, cid)
    assert cr["requested_by"] == "alice"  # REMOTE_USER, not the client's GATEKEEPER_USER
    r = push(work, "HEAD:refs/heads/main")
    assert not r.ok and any("refusing refs/heads/main" in ln for ln in r.lines), r.stderr
    assert sign(env, cid, "carol").status_code == 201
    r = push(work, "HEAD:refs/heads/main")
    assert r.ok and f"change request {cid} deployed" in r.text(), r.stderr
    assert change(env, cid)["deployed_by"] == "alice"


def test_remote_user_is_the_directorys_spelling(env: Env, tmp_path: Path) -> None:
    work = clone(env, tmp_path, "ldap", "ALICE", ldap.password("alice"))  # LDAP matches uid case-insensitively
    git(work, "checkout", "-q", "-b", "upper")
    commit_all(work, {"cfg/upper.txt": "x\n"}, "upper")
    r = push(work, "HEAD:refs/heads/upper")
    assert r.ok, r.stderr
    assert change(env, r.change_id())["requested_by"] == "alice"


def test_wrong_password_is_refused_by_apache(env: Env, tmp_path: Path) -> None:
    proc = run_git(tmp_path, "clone", "-q", env.httpd.url("ldap", "plant-a-ot", "alice", "wrong"), "x")
    assert proc.returncode != 0 and "Authentication failed" in proc.stderr
    proc = run_git(tmp_path, "ls-remote", env.httpd.url("ldap", "plant-a-ot"))
    assert proc.returncode != 0


def test_htpasswd_variant_names_the_pusher(env: Env, tmp_path: Path) -> None:
    work = clone(env, tmp_path, "file", "erin", HTTP_PASSWORDS["erin"])
    git(work, "checkout", "-q", "-b", "erin-topic")
    commit_all(work, {"cfg/erin.txt": "on call\n"}, "erin")
    r = push(work, "HEAD:refs/heads/erin-topic")
    assert r.ok, r.stderr
    cr = change(env, r.change_id())
    assert cr["requested_by"] == "erin" and cr["revisions"][0]["pushed_by"] == "erin"  # type: ignore[index]
