"""The hooks' body (``gitio.hook``) run as git runs it: ``python -m gatekeeper hook …`` in a real bare
repo, ref updates on stdin, against a real HTTP server scripted to answer as the service would, or
to fail. Every line starts with ``gatekeeper:``; protected branches fail closed; a refusal made
without the service is spooled and delivered with the next call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.git import git, init_work
from tests.support.http_receiver import Receiver
from tests.support.plant import POLICY

ZERO = "0" * 40
PRE, POST = "/api/v1/hooks/pre-receive", "/api/v1/hooks/post-receive"


@dataclass
class Repo:
    bare: Path
    policy: Path
    main: str
    topic: str
    receiver: Receiver

    def hook(self, which: str, stdin: str, *, repo: str = "plant-a-ot") -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GATEKEEPER_"))}
        env.update({"GIT_DIR": str(self.bare), "GATEKEEPER_CONFIG": str(self.policy), "GATEKEEPER_HOOK_REPO": repo,
                    "GATEKEEPER_HOOK_TOKEN": "hook-token", "GL_USERNAME": "alice"})
        return subprocess.run([sys.executable, "-m", "gatekeeper", "hook", which], input=stdin, text=True,
                              capture_output=True, cwd=self.bare, env=env, timeout=60)

    def posted(self, path: str) -> list[dict[str, Any]]:
        return [r.json() for r in self.receiver.requests if r.path == path]


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    receiver = Receiver().start()
    work = init_work(tmp_path / "work", "plant\n")
    main = git(work, "rev-parse", "HEAD")
    (work / "notes.txt").write_text("more\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "more")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    policy = tmp_path / "gatekeeper.toml"
    policy.write_text(POLICY.format(url=receiver.url, database=f"sqlite:///{tmp_path / 'gk.db'}"))
    try:
        yield Repo(bare, policy, main, git(work, "rev-parse", "HEAD"), receiver)
    finally:
        receiver.stop()


def lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    out = done.stderr.splitlines()
    assert all(line.startswith("gatekeeper: ") for line in out), done.stderr  # never a traceback
    return [line.removeprefix("gatekeeper: ") for line in out]


def answer(body: dict[str, Any]) -> Any:
    return lambda req: (200, body)


def test_a_topic_push_is_accepted_without_asking_and_bad_usage_is_one_line(repo: Repo) -> None:
    done = repo.hook("pre-receive", f"{ZERO} {repo.topic} refs/heads/cr/tt101\n")
    assert done.returncode == 0 and done.stderr == "" and repo.receiver.requests == []
    usage = repo.hook("update", "")
    assert usage.returncode == 2 and lines(usage) == ["usage: python -m gatekeeper hook pre-receive|post-receive"]


def test_the_service_decides_a_protected_push(repo: Repo) -> None:
    update = f"{repo.main} {repo.topic} refs/heads/main\n"
    repo.receiver.routes[("POST", PRE)] = answer({"allow": True, "messages": ["deploys change request 3"]})
    done = repo.hook("pre-receive", update)
    assert done.returncode == 0 and lines(done) == ["deploys change request 3"]
    [body] = repo.posted(PRE)
    assert (body["repo"], body["pusher"]) == ("plant-a-ot", "alice")
    assert [u["ref"] for u in body["updates"]] == ["refs/heads/main"]
    repo.receiver.routes[("POST", PRE)] = answer({"allow": False, "messages": ["refusing refs/heads/main: …"]})
    assert repo.hook("pre-receive", update).returncode == 1
    repo.receiver.routes[("POST", PRE)] = answer({"messages": []})  # no "allow": no permission
    assert repo.hook("pre-receive", update).returncode == 1


@pytest.mark.parametrize(("status", "advice"), [(503, "push again when the service is back"),
                                                (403, "ask your Gatekeeper administrator to fix the cause above")])
def test_without_an_answer_a_protected_push_fails_closed_and_the_refusal_is_spooled(
        repo: Repo, status: int, advice: str) -> None:
    update = f"{repo.main} {repo.topic} refs/heads/main\n"
    repo.receiver.script = [status]
    done = repo.hook("pre-receive", update)
    said = lines(done)
    assert done.returncode == 1 and said[0].startswith(f"service answered {status}")
    assert said[1] == ("refusing refs/heads/main: protected branch, and the service cannot check it (fail closed); "
                       f"topic branches are still accepted; {advice}")
    [spooled] = list((repo.bare / "gatekeeper" / "spool").glob("*.json"))
    sealed = json.loads(spooled.read_text())  # sealed with the hook token (issue 22 item 2)
    assert sealed["record"]["refs"] == [{"ref": "refs/heads/main", "old": repo.main, "new": repo.topic}]
    assert (sealed["kind"], sealed["repo"]) == ("spool", "plant-a-ot") and len(sealed["mac"]) == 64
    repo.receiver.routes[("POST", PRE)] = answer({"allow": True})  # back: the refusal is delivered with the next call
    assert repo.hook("pre-receive", update).returncode == 0
    delivered = repo.posted(PRE)[-1]["state"]
    assert [(f["file"].split("/")[0], f["record"]["pusher"], f["mac"]) for f in delivered] == [
        ("spool", "alice", sealed["mac"])] and not spooled.exists()


def test_post_receive_never_fails_the_push_and_says_what_was_not_done(repo: Repo) -> None:
    repo.receiver.script = [503]
    done = repo.hook("post-receive", f"{ZERO} {repo.topic} refs/heads/cr/tt101\n{repo.main} {repo.topic} "
                                     "refs/heads/main\n")
    said = lines(done)
    assert done.returncode == 0
    assert "the topic branch was pushed, but no change request was opened or revised; push a new commit when the " \
           "service is back" in said
    assert any(s.startswith("the deployment is not confirmed yet") for s in said)
    [body] = repo.posted(POST)
    assert {u["ref"] for u in body["updates"]} == {"refs/heads/cr/tt101", "refs/heads/main"}


def test_a_repository_missing_from_the_policy_refuses_every_branch(repo: Repo) -> None:
    """Which refs are protected is unknown: every update is refused, a tag's too (SPEC §12 "Refs")."""
    refused = repo.hook("pre-receive", f"{repo.main} {repo.topic} refs/heads/main\n", repo="not-in-policy")
    said = lines(refused)
    assert refused.returncode == 1 and "repository 'not-in-policy'" in said[0]
    assert said[-1] == "refusing the push (fail closed); ask your Gatekeeper administrator"
    assert repo.hook("pre-receive", f"{ZERO} {repo.topic} refs/heads/cr/x\n", repo="not-in-policy").returncode == 1
    assert repo.hook("pre-receive", f"{ZERO} {repo.topic} refs/tags/v1\n", repo="not-in-policy").returncode == 1
