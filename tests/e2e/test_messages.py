"""Messages through the real hook and API say what happened, why, and what to do next (issue 17)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.test_flow import bootstrap
from tests.support.git import Repo, gatekeeper, git, make_repo, no_git_env
from tests.support.plant import Plant
from tests.support.service import HOOK_TOKEN, Service, running

pytestmark = pytest.mark.e2e

NOT_UTF8 = ('the file name "cfg/caf\\xe9.txt" is not UTF-8 (the bytes that are not are shown as \\xNN): '
            "Gatekeeper classifies, reviews and logs file names as UTF-8 text; rename the file (git mv) to a "
            "UTF-8 name in a new commit and push again")


def test_a_file_name_that_is_not_utf8(repo: Repo, service: Service) -> None:
    bootstrap(repo, service)
    repo.checkout("latin1", create=True)
    (repo.work / os.fsdecode(b"cfg/caf\xe9.txt")).write_bytes(b"x\n")
    git(repo.work, "add", "-A")
    git(repo.work, "commit", "-qm", "a Latin-1 file name")
    r = repo.push("HEAD:refs/heads/latin1")
    assert r.ok, r.stderr  # post-receive cannot refuse; it says why no CR was opened
    assert r.lines == [f"refs/heads/latin1: pushed, but no change request was opened or revised: {NOT_UTF8}"]
    assert "service is back" not in r.stderr
    r = repo.push("HEAD:refs/heads/main")
    assert not r.ok
    assert r.lines == [f"refusing the push: {NOT_UTF8}"]
    # In one push with another topic branch, that one is still reported to the service.
    git(repo.work, "branch", "good", "main")
    r = subprocess.run(["git", "push", "--porcelain", "origin", "latin1:refs/heads/latin1-3", "good:refs/heads/good"],
                       cwd=repo.work, env=no_git_env({"GATEKEEPER_HOOK_TOKEN": HOOK_TOKEN, "GATEKEEPER_USER": "alice"}),
                       capture_output=True, text=True)
    assert r.returncode == 0
    assert f"refs/heads/latin1-3: pushed, but no change request was opened or revised: {NOT_UTF8}" in r.stderr
    assert "refs/heads/good: no changes against main; no change request opened" in r.stderr
    # Renamed in a new commit: the net patch no longer holds the name, and a CR opens.
    git(repo.work, "mv", os.fsdecode(b"cfg/caf\xe9.txt"), "cfg/café.txt")
    git(repo.work, "commit", "-qm", "UTF-8 name")
    r = repo.push("HEAD:refs/heads/latin1")
    assert r.ok and r.change_id() > 0, r.lines


def test_targets_that_are_missing_patterns_or_unprotected(plant: Plant) -> None:
    text = plant.config.read_text()
    plant.config.write_text(text.replace('protected = ["main", "release/*"]', 'protected = ["release/*"]'))
    repo = make_repo(plant)
    with running(plant):
        repo.commit({"cfg/a.txt": "a\n"})
        r = repo.push("HEAD:refs/heads/topic")
        assert r.ok
        assert r.lines == ["refs/heads/topic: no change request opened: no target branch was given and plant-a-ot "
                           "has no plain protected branch to default to (release/*); to open one, push a new commit "
                           "to this branch with -o gatekeeper.target=<protected branch>"], r.lines
        repo.commit({"cfg/a.txt": "b\n"})
        r = repo.push("HEAD:refs/heads/topic", options=("gatekeeper.target=release/*",))
        assert r.lines == ["refs/heads/topic: no change request opened: target 'release/*' is a pattern; name one "
                           "branch (protected in plant-a-ot: release/*); to open one, push a new commit to this "
                           "branch with -o gatekeeper.target=<protected branch>"], r.lines
        repo.commit({"cfg/a.txt": "c\n"})
        r = repo.push("HEAD:refs/heads/topic", options=("gatekeeper.target=main",))
        assert "target 'main' is not a protected branch of plant-a-ot (protected: release/*)" in r.text(), r.lines
        repo.commit({"cfg/a.txt": "d\n"})
        r = repo.push("HEAD:refs/heads/topic", options=("gatekeeper.target=release/2026/q1",))
        assert r.ok and "-> release/2026/q1" in r.text(), r.lines


def test_hook_problems_that_retrying_will_not_fix(repo: Repo, service: Service) -> None:
    repo.commit({"cfg/a.txt": "a\n"})
    r = repo.push("HEAD:refs/heads/topic", token="wrong")
    assert r.ok
    assert r.lines == [
        "service answered 401: invalid hook token: the Bearer token sent differs from the service's "
        "GATEKEEPER_HOOK_TOKEN; give the git server's hooks the same token",
        "the topic branch was pushed, but no change request was opened or revised; ask your Gatekeeper "
        "administrator to fix the cause above, then push a new commit"], r.lines
    r = repo.push("HEAD:refs/heads/anonymous", user=None)
    assert r.ok and r.lines == [
        "refs/heads/anonymous: accepted, but no change request opened: no pusher identity; the git server must set "
        "one of GATEKEEPER_USER, GL_USERNAME, GITEA_PUSHER_NAME, GL_USER, REMOTE_USER (for a local push: export "
        "GATEKEEPER_USER=<your username>), then push a new commit"], r.lines
    repo.commit({"cfg/a.txt": "b\n"})
    r = repo.push("HEAD:refs/heads/main", token=None)
    assert not r.ok
    assert r.lines[0] == ("hook token not set: the git server must give its hook processes the environment "
                          "variable GATEKEEPER_HOOK_TOKEN, holding the service's hook token"), r.lines


def test_api_messages_name_the_api_parameters_and_schemes(service: Service) -> None:
    resp = service.get("/api/v1/audit/register?from=2026-13-01&to=2026-12-31", "dave")
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].startswith("from '2026-13-01': not a valid date")
    resp = service.get("/api/v1/audit/register?from=2026-02-01&to=yesterday", "dave")
    assert resp.json()["error"]["message"].startswith("to 'yesterday': expected YYYY-MM-DD or an RFC 3339")
    resp = service.get("/api/v1/audit/evidence?from=2026-02-01&to=2026-01-01", "dave")
    assert resp.json()["error"]["message"] == ("from 2026-02-01 is after to 2026-01-01: the period would be "
                                               "empty; swap them")
    assert "--" not in resp.json()["error"]["message"]
    resp = service.get("/api/v1/audit/register", "dave")
    assert resp.status_code == 400 and "?from=2026-01-01&to=2026-03-31" in resp.json()["error"]["message"]
    # The hooks' endpoints take a Bearer token, people's endpoints Basic credentials: each 401 says which.
    for hook in ("pre-receive", "post-receive"):
        resp = requests.post(f"{service.url}/api/v1/hooks/{hook}", json={}, timeout=10)
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == 'Bearer realm="gatekeeper-hooks"'
    resp = requests.post(f"{service.url}/api/v1/hooks/pre-receive", json={}, timeout=10,
                         headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer ")
    resp = requests.get(f"{service.url}/api/v1/changes", timeout=10)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Basic ")


def test_service_down_says_to_retry_when_it_is_back(repo: Repo) -> None:
    repo.commit({"cfg/a.txt": "a\n"})
    r = repo.push("HEAD:refs/heads/main")
    assert not r.ok
    assert r.lines[0].startswith(f"service unreachable at {repo.plant.url}: ")
    assert r.lines[1] == ("refusing refs/heads/main: protected branch, and the service cannot check it (fail "
                          "closed); topic branches are still accepted; push again when the service is back")
    r = repo.push("HEAD:refs/heads/topic")
    assert r.ok and r.lines[1] == ("the topic branch was pushed, but no change request was opened or revised; "
                                   "push a new commit when the service is back"), r.lines


def test_cli_messages_say_what_to_do(plant: Plant, tmp_path: Path) -> None:
    proc = gatekeeper(plant, "change", "list", "--user", "alice", env={"GATEKEEPER_PASSWORD": "pw-alice-secret"})
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"gatekeeper: error: service unreachable at {plant.url} (ConnectionError): is it "
                                  "running, and is service.url in the policy file its address?")
    (tmp_path / "plain").mkdir()
    proc = gatekeeper(plant, "repo", "install-hooks", str(tmp_path / "plain"), "--name", "plant-a-ot")
    assert proc.returncode == 2 and "is not a bare git repository: give the server-side repository" in proc.stderr
    proc = gatekeeper(plant, "repo", "install-hooks", str(tmp_path / "nope"), "--name", "plant-a-ot")
    assert proc.returncode == 2 and "is not a directory: give the bare repository's folder" in proc.stderr


def test_api_unknown_endpoints_and_methods(service: Service) -> None:
    resp = service.get("/api/v1/nope", "carol")
    assert resp.status_code == 404 and resp.json()["error"] == {
        "code": "not_found",
        "message": "no such endpoint: GET /api/v1/nope (the API is described at /api/v1/openapi.json)"}
    resp = service.post("/api/v1/changes", "carol", json={})
    assert resp.status_code == 405
    assert resp.json()["error"]["message"] == "POST is not allowed on /api/v1/changes (allowed: GET)"


def test_post_receive_without_a_target_through_the_api(service: Service) -> None:
    sha = "1" * 40
    body = {"repo": "plant-a-ot", "pusher": "alice", "push_options": [], "updates": [
        {"ref": "refs/heads/topic", "old": "0" * 40, "new": sha, "changes": [
            {"path": "cfg/a.txt", "status": "added", "old_blob": "0" * 40, "new_blob": "2" * 40,
             "old_mode": "000000", "new_mode": "100644"}]}]}
    resp = requests.post(service.url + "/api/v1/hooks/post-receive", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {HOOK_TOKEN}"})
    assert resp.status_code == 200
    assert resp.json()["messages"] == [
        "refs/heads/topic: no change request opened: the update names no target branch (Gatekeeper's hook would "
        "have aimed it at main); to open one, push a new commit to this branch with -o "
        "gatekeeper.target=<protected branch>"]
    assert "None" not in resp.text
