"""Copies of checkpoints kept where the database administrator cannot rewrite them (SPEC §8).

Two places: a Git ref, ``refs/gatekeeper/checkpoints``, whose commit tree holds one
``checkpoint-<seq>.json`` per anchored checkpoint (every clone that fetches the ref keeps a copy,
and its history only grows), and a JSONL file an auditor keeps. Both refuse a second, different
checkpoint for a seq already anchored: that can only mean the log was rewritten.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from gatekeeper.errors import InputError, LedgerBroken
from gatekeeper.ledger.checkpoint import Checkpoint

ANCHOR_REF = "refs/gatekeeper/checkpoints"
_NAME = re.compile(r"checkpoint-(\d+)\.json")


def _git(repo: Path, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    """One git call in ``repo`` with inherited ``GIT_*`` dropped (a stray GIT_DIR would redirect it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="gatekeeper", GIT_AUTHOR_EMAIL="gatekeeper@localhost",
               GIT_COMMITTER_NAME="gatekeeper", GIT_COMMITTER_EMAIL="gatekeeper@localhost")
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, env=env)
    except FileNotFoundError as exc:
        raise InputError("git is not installed (apt-get install git)") from exc
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]} in {repo} failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


def _tree_entries(repo: Path, commit: str) -> list[tuple[str, str, str, str]]:
    """``(mode, type, sha, name)`` of the anchor commit's top-level tree."""
    out = _git(repo, "ls-tree", "-z", commit)
    entries = []
    for item in out.split(b"\x00"):
        if item:
            meta, _, name = item.decode().partition("\t")
            mode, kind, sha = meta.split(" ")
            entries.append((mode, kind, sha, name))
    return entries


def _anchor_tip(repo: Path) -> str | None:
    if not _git(repo, "rev-parse", "--git-dir", check=False):
        raise InputError(f"{repo} is not a git repository")
    out = _git(repo, "rev-parse", "--verify", "--quiet", f"{ANCHOR_REF}^{{commit}}", check=False).strip()
    return out.decode() or None


def anchor_git(repo: Path, cp: Checkpoint) -> str | None:
    """Add ``cp`` to ``refs/gatekeeper/checkpoints`` in ``repo``; the new commit, or None if already there."""
    old = _anchor_tip(repo)
    name = f"checkpoint-{cp.seq}.json"
    blob = _git(repo, "hash-object", "-w", "--stdin", input=cp.to_json()).decode().strip()
    entries = _tree_entries(repo, old) if old else []
    for _mode, _kind, sha, existing in entries:
        if existing == name:
            if sha != blob:
                _refuse_conflict(cp, Checkpoint.from_json(_git(repo, "cat-file", "blob", sha), name),
                                 f"{ANCHOR_REF} in {repo}")
            return None
    entries.append(("100644", "blob", blob, name))
    entries.sort(key=lambda e: e[3])
    tree_in = b"".join(f"{m} {k} {s}\t{n}".encode() + b"\x00" for m, k, s, n in entries)
    tree = _git(repo, "mktree", "-z", input=tree_in).decode().strip()
    parents = ["-p", old] if old else []
    message = f"gatekeeper checkpoint seq {cp.seq}\n\nhash {cp.hash}\nkey_id {cp.key_id}\nts {cp.ts}\n"
    commit = _git(repo, "commit-tree", tree, *parents, "-m", message).decode().strip()
    # Compare-and-swap: a concurrent anchor makes this fail instead of losing its commit.
    _git(repo, "update-ref", "-m", f"gatekeeper: anchor checkpoint {cp.seq}", ANCHOR_REF, commit, old or "")
    return commit


def read_git_anchors(repo: Path) -> list[Checkpoint]:
    """Every checkpoint anchored at ``refs/gatekeeper/checkpoints`` in ``repo``."""
    tip = _anchor_tip(repo)
    if tip is None:
        raise InputError(f"{repo} has no {ANCHOR_REF} (anchor one with `gatekeeper log anchor --git`)")
    found = []
    for _mode, kind, sha, name in _tree_entries(repo, tip):
        if kind == "blob" and _NAME.fullmatch(name):
            found.append(Checkpoint.from_json(_git(repo, "cat-file", "blob", sha), f"{ANCHOR_REF}:{name}"))
    return found


def read_checkpoint_file(path: Path) -> list[Checkpoint]:
    """A checkpoint file: one JSON object (``log checkpoint -o``) or one per line (``log anchor --file``)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    stripped = data.strip()
    if not stripped:
        raise InputError(f"{path}: empty checkpoint file")
    lines = [ln for ln in stripped.splitlines() if ln.strip()]
    if len(lines) > 1 and all(ln.lstrip().startswith(b"{") and ln.rstrip().endswith(b"}") for ln in lines):
        try:
            return [Checkpoint.from_json(ln, f"{path} line {i}") for i, ln in enumerate(lines, 1)]
        except InputError:
            pass  # maybe one pretty-printed object after all
    return [Checkpoint.from_json(stripped, str(path))]


def anchor_file(path: Path, cp: Checkpoint) -> bool:
    """Append ``cp`` to a JSONL file an auditor keeps; False if it is already there."""
    existing = read_checkpoint_file(path) if path.exists() and path.stat().st_size else []
    for old in existing:
        if old.seq == cp.seq:
            _refuse_conflict(cp, old, str(path))
            return False
    with open(path, "ab") as fh:
        fh.write(cp.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    return True


def _refuse_conflict(new: Checkpoint, old: Checkpoint, where: str) -> None:
    """A different hash for an anchored seq is a rewritten log; the same one signed again changes nothing."""
    if new.hash != old.hash:
        raise LedgerBroken(new.seq, f"hash {new.hash[:16]}… differs from the checkpoint anchored in {where} "
                                    f"({old.hash[:16]}…): the log was rewritten")
