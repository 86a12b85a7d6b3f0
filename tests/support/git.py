"""Real bare repos with the hooks installed, clones, commits and real ``git push``es."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.plant import USERS, Plant
from tests.support.service import HOOK_TOKEN


def no_git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Drop inherited GIT_* and GATEKEEPER_* so each push says exactly who and what it is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GATEKEEPER_"))}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "HOME": env.get("HOME", "/tmp")})
    env.update(extra or {})
    return env


# Author and committer for commits made outside a ``Repo`` (``no_git_env({**ALICE, ...})``).
ALICE = {"GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@plant.example",
         "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@plant.example"}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env or no_git_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


@dataclass
class PushResult:
    rc: int
    lines: list[str]
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @classmethod
    def of(cls, proc: subprocess.CompletedProcess[str]) -> PushResult:
        """A finished ``git push``: the hooks' ``gatekeeper: `` lines picked out of its stderr."""
        lines = [ln.split("gatekeeper: ", 1)[1].rstrip() for ln in proc.stderr.splitlines() if "gatekeeper: " in ln]
        return cls(proc.returncode, lines, proc.stderr)

    def text(self) -> str:
        return "\n".join(self.lines)

    def change_id(self) -> int:
        for line in self.lines:
            m = re.search(r"change request (\d+) (opened|revised)", line)
            if m:
                return int(m.group(1))
        raise AssertionError("no change request in push output:\n" + self.stderr)


def gatekeeper(plant: Plant, *args: str, env: dict[str, str] | None = None,
               input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatekeeper", "--config", str(plant.config), *args],
                          capture_output=True, text=True, env=no_git_env(env), input=input)


@dataclass
class Repo:
    """A bare repo on the "server" plus a working clone for one engineer."""

    bare: Path
    work: Path
    plant: Plant

    def commit(self, files: dict[str, str | bytes | None], message: str = "change", author: str = "alice",
               committer: str | None = None, trailers: str = "") -> str:
        for path, content in files.items():
            p = self.work / path
            if content is None:
                p.unlink()
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8")
        git(self.work, "add", "-A")
        a_name, a_email = USERS.get(author, (author, f"{author}@plant.example"))
        c_name, c_email = USERS.get(committer or author, (committer, f"{committer}@plant.example"))
        env = no_git_env({"GIT_AUTHOR_NAME": a_name, "GIT_AUTHOR_EMAIL": a_email,
                          "GIT_COMMITTER_NAME": c_name, "GIT_COMMITTER_EMAIL": c_email})
        msg = message + (f"\n\n{trailers}" if trailers else "")
        git(self.work, "commit", "-q", "--allow-empty", "-m", msg, env=env)
        return git(self.work, "rev-parse", "HEAD")

    def push(self, refspec: str, user: str | None = "alice", options: tuple[str, ...] = (),
             force: bool = False, token: str | None = HOOK_TOKEN, user_var: str = "GATEKEEPER_USER") -> PushResult:
        """A real ``git push``; ``user_var`` is how the git server names the pusher (GL_USERNAME, ...)."""
        extra = {"GATEKEEPER_HOOK_TOKEN": token} if token else {}
        if user:
            extra[user_var] = user
        args = ["push", "--porcelain", "origin", refspec]
        for o in options:
            args[1:1] = ["-o", o]
        if force:
            args.insert(1, "--force")
        proc = subprocess.run(["git", *args], cwd=self.work, env=no_git_env(extra), capture_output=True, text=True)
        return PushResult.of(proc)

    def checkout(self, branch: str, create: bool = False, start: str | None = None) -> None:
        args = ["checkout", "-q"] + (["-b", branch] if create else [branch]) + ([start] if start else [])
        git(self.work, *args)

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")


def commit_all(work: Path, files: dict[str, str], message: str) -> None:
    """Write ``files`` into a clone and commit everything (as the clone's configured user)."""
    for path, content in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(content)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)


def init_work(work: Path, readme: str) -> Path:
    """A new repo on ``main`` at ``work`` with one root commit (README.md) by Alice."""
    git(work.parent, "init", "-q", "--initial-branch=main", str(work))
    (work / "README.md").write_text(readme)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "root", env=no_git_env(ALICE))
    return work


def make_repo(plant: Plant, name: str = "plant-a-ot") -> Repo:
    bare = plant.dir / f"{name}.git"
    rc = gatekeeper(plant, "repo", "create", str(bare), "--name", name,
                    env={"GATEKEEPER_HOOK_TOKEN": HOOK_TOKEN})
    if rc.returncode != 0:
        raise RuntimeError(rc.stderr)
    work = plant.dir / f"work-{name}"
    git(plant.dir, "clone", "-q", str(bare), str(work))
    git(work, "config", "user.name", "Alice Engineer")
    git(work, "config", "user.email", "alice@plant.example")
    git(work, "checkout", "-q", "-b", "main")
    return Repo(bare=bare, work=work, plant=plant)


def fast_import_chain(work: Path, branch: str, authors: list[tuple[str, str]], path: str = "tags/counter.txt",
                      start: str | None = None) -> str:
    """One commit per entry of ``authors`` (name, email), oldest first, on ``branch`` of ``work``, built
    with ``git fast-import`` (6,000 commits in well under a second); each rewrites ``path``. Returns the tip."""
    parent = start or git(work, "rev-parse", "HEAD")
    chunks = [f"reset refs/heads/{branch}\nfrom {parent}\n\n"]
    for i, (name, email) in enumerate(authors):
        body = f"commit {i}\n"
        msg = f"step {i}\n"
        when = 1_700_000_000 + i
        chunks.append(f"commit refs/heads/{branch}\nmark :{i + 1}\n"
                      f"author {name} <{email}> {when} +0000\ncommitter {name} <{email}> {when} +0000\n"
                      f"data {len(msg.encode())}\n{msg}M 100644 inline {path}\ndata {len(body.encode())}\n{body}\n")
    proc = subprocess.run(["git", "fast-import", "--quiet"], cwd=work, env=no_git_env(),
                          input="".join(chunks).encode(), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode())
    return git(work, "rev-parse", f"refs/heads/{branch}")


def crafted_tree_commit(work: Path, path: str, content: bytes = b"x\n", parent: str | None = None) -> str:
    """A commit whose tree holds ``path`` exactly as written, ``..`` and ``.git`` components included
    (``git mktree`` does not check names; only fsck does). Returns the commit id."""
    def run(*args: str, data: bytes) -> str:
        proc = subprocess.run(["git", *args], cwd=work, env=no_git_env(), input=data, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode())
        return proc.stdout.decode().strip()

    *dirs, name = path.split("/")
    sha = run("hash-object", "-w", "--stdin", data=content)
    entry = f"100644 blob {sha}\t{name}\n"
    for d in reversed(dirs):
        sha = run("mktree", data=entry.encode())
        entry = f"040000 tree {sha}\t{d}\n"
    tree = run("mktree", data=entry.encode())
    args = ["commit-tree", tree, "-m", f"crafted {path}"] + (["-p", parent] if parent else [])
    env = no_git_env({"GIT_AUTHOR_NAME": "Alice Engineer", "GIT_AUTHOR_EMAIL": "alice@plant.example",
                      "GIT_COMMITTER_NAME": "Alice Engineer", "GIT_COMMITTER_EMAIL": "alice@plant.example"})
    proc = subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return proc.stdout.strip()
