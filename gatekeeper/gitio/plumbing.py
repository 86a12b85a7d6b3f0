"""Small git plumbing calls, one git process each, ``-z`` output where names may hold anything.

Standard library only (the hooks import this). Inherited ``GIT_*`` variables are kept: inside
pre-receive, pushed objects are only visible through git's quarantine variables.
"""

from __future__ import annotations

import re
import subprocess
from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence

from gatekeeper.errors import GatekeeperError
from gatekeeper.policy.refs import is_null


class GitError(GatekeeperError):
    def __init__(self, args: Sequence[str], rc: int, stderr: bytes) -> None:
        msg = stderr.decode("utf-8", "replace").strip().splitlines()
        super().__init__(f"git {' '.join(args)} failed ({rc}): {msg[-1] if msg else ''}")
        self.rc = rc


def git(*args: str, input: bytes | None = None, cwd: str | None = None, check: bool = True) -> bytes:
    proc = subprocess.run(["git", *args], input=input, capture_output=True, cwd=cwd)
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr)
    return proc.stdout


def empty_tree(cwd: str | None = None) -> str:
    """The empty tree's id in this repo's hash (SHA-1 or SHA-256); nothing is written."""
    return git("hash-object", "-t", "tree", "--stdin", input=b"", cwd=cwd).decode().strip()


def merge_base(a: str, b: str, cwd: str | None = None) -> str | None:
    out = git("merge-base", a, b, cwd=cwd, check=False).decode().strip()
    return out or None


def is_ancestor(a: str, b: str, cwd: str | None = None) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", a, b], cwd=cwd,
                          capture_output=True).returncode == 0


def peel(obj: str, cwd: str | None = None) -> str | None:
    """The commit a ref value (a commit, or an annotated tag) names; None for a tree, a blob, nothing."""
    out = git("rev-parse", "--verify", "-q", f"{obj}^{{commit}}", cwd=cwd, check=False).decode().strip()
    return out or None


def branch_tips(patterns: Iterable[str] = ("refs/heads/",), cwd: str | None = None) -> dict[str, str]:
    out = git("for-each-ref", "--format=%(objectname) %(refname)", *patterns, cwd=cwd).decode()
    tips = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        tips[ref] = sha
    return tips


# One file's change as the hook sends it (SPEC §6) and the service stores it (``ChangeIn``, ``ChangeFile``):
# the fields of ``policy.fingerprint.FileChange`` plus git's status. A plain namedtuple (typing costs
# every push); ``_asdict()`` is the body's entry.
RawChange = namedtuple("RawChange", "path old_blob new_blob old_mode new_mode status")


_STATUS = {"A": "added", "D": "deleted", "M": "modified", "T": "type-changed"}


def diff_tree(old: str, new: str, cwd: str | None = None) -> list[RawChange]:
    """Per-file changes between two trees (or commits), recursively, without rename detection."""
    out = git("diff-tree", "-r", "-z", "--raw", "--no-renames", "--no-commit-id", old, new, cwd=cwd)
    parts = out.split(b"\x00")
    changes = []
    i = 0
    while i + 1 < len(parts) and parts[i].startswith(b":"):
        meta = parts[i][1:].decode().split(" ")
        path = parts[i + 1].decode("utf-8", "surrogateescape")
        changes.append(RawChange(path=path, old_mode=meta[0], new_mode=meta[1], old_blob=meta[2],
                                 new_blob=meta[3], status=_STATUS.get(meta[4][:1], "modified")))
        i += 2
    return changes


def ls_tree(commit: str, cwd: str | None = None) -> list[tuple[str, str, str]]:
    """(mode, blob, path) of every file in a commit's tree."""
    out = git("ls-tree", "-r", "-z", "--full-tree", commit, cwd=cwd)
    files = []
    for rec in out.split(b"\x00"):
        if not rec:
            continue
        meta, _, path = rec.partition(b"\t")
        mode, kind, sha = meta.decode().split(" ")
        if kind == "blob":
            files.append((mode, sha, path.decode("utf-8", "surrogateescape")))
    return files


def read_blobs(shas: Sequence[str], limit: int, cwd: str | None = None) -> tuple[dict[str, bytes], dict[str, int]]:
    """Contents of the blobs no larger than ``limit`` and the sizes of all, in ONE git process.

    ``cat-file --batch-command`` answers ``info`` first (sizes), then ``contents`` for the small ones,
    so a 50 MB file is never read and a push pays one process, not two.
    """
    wanted = list(dict.fromkeys(s for s in shas if not is_null(s)))
    if not wanted:
        return {}, {}
    proc = subprocess.Popen(["git", "cat-file", "--batch-command", "--buffer"], cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(("".join(f"info {s}\n" for s in wanted) + "flush\n").encode())
    proc.stdin.flush()
    sizes: dict[str, int] = {}
    for sha in wanted:
        header = proc.stdout.readline().decode().split()
        if len(header) >= 3 and header[1] != "missing":
            sizes[sha] = int(header[2])
    small = [s for s in wanted if s in sizes and sizes[s] <= limit]
    proc.stdin.write("".join(f"contents {s}\n" for s in small).encode())
    proc.stdin.close()
    blobs: dict[str, bytes] = {}
    for sha in small:
        header = proc.stdout.readline().decode().split()
        size = int(header[2])
        blobs[sha] = proc.stdout.read(size)
        proc.stdout.read(1)
    proc.stdout.close()
    if proc.wait() != 0:
        raise GitError(["cat-file", "--batch-command"], proc.returncode, proc.stderr.read() if proc.stderr else b"")
    return blobs, sizes


_SEP = "\x1f"
_TRAILER_SEP = "\x1e"
# git's own trailer parser (``%(trailers)``): the key matches case-insensitively, folded values are
# unfolded, and only a real trailer block counts, exactly as ``git interpret-trailers --parse`` reads it.
_LOG_FORMAT = _SEP.join(["%H", "%an", "%ae", "%cn", "%ce", "%cI", "%s",
                         "%(trailers:key=Co-authored-by,valueonly,unfold,separator=%x1e)",
                         "%(trailers:key=Change-Ticket,valueonly,unfold,separator=%x1e)"])
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


def iter_commits(range_args: Sequence[str], cwd: str | None = None) -> Iterator[dict[str, object]]:
    """Every commit of a range with the people SoD needs (authors, committers, co-authors), streamed.

    One ``git log`` for the whole range, read record by record as git writes it: no ``--max-count``,
    so SoD sees the author of the oldest commit of a 100,000-commit range too (issue 11 item 2).
    """
    proc = subprocess.Popen(["git", "log", "-z", f"--format={_LOG_FORMAT}", *range_args, "--"], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    pending = b""
    try:
        for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):  # type: ignore[union-attr]
            *records, pending = (pending + chunk).split(b"\x00")
            for rec in records:
                commit = _parse_commit(rec)
                if commit is not None:
                    yield commit
        commit = _parse_commit(pending)
        if commit is not None:
            yield commit
    finally:
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        rc = proc.wait()
    if rc != 0:  # a partial range would be a silent truncation: fail instead
        raise GitError(["log", *range_args], rc, err)


def commits(range_args: Sequence[str], cwd: str | None = None) -> list[dict[str, object]]:
    """All commits of a range (see ``iter_commits``); never truncated."""
    return list(iter_commits(range_args, cwd))


def _parse_commit(raw: bytes) -> dict[str, object] | None:
    rec = raw.decode("utf-8", "replace")
    if not rec.strip():
        return None
    f = rec.split(_SEP)
    if len(f) < 8:
        raise GatekeeperError(f"unreadable git log record: {rec[:80]!r}")
    return {"sha": f[0].strip(), "author_name": f[1], "author_email": f[2], "committer_name": f[3],
            "committer_email": f[4], "committed_at": f[5], "subject": f[6],
            "co_authors": co_authors(f[7].split(_TRAILER_SEP)),
            "change_tickets": [t.strip() for t in f[8].split(_TRAILER_SEP) if t.strip()] if len(f) > 8 else []}


def co_authors(values: Iterable[str]) -> list[str]:
    """Every address in each ``Co-authored-by`` value (``Carol <c@x> (pairing)``, ``c@x, d@y``, a bare
    address); a value with no address at all is kept as written, so it shows up as a co-author nobody
    could identify instead of vanishing."""
    out: list[str] = []
    for value in values:
        value = " ".join(value.split())
        if not value:
            continue
        found = [a.strip(".") for a in _ADDRESS.findall(value)]
        out.extend(found or [value])
    return list(dict.fromkeys(out))
