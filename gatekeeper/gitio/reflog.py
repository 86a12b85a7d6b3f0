"""What git's reflog says about one ref update (issue 22 item 1): the only evidence, besides
post-receive's own ``old new ref`` line, that git moved a ref from ``old`` to ``new``.

``install-hooks`` sets ``core.logAllRefUpdates = always`` (attested), so git appends one line per
update of every ref: ``<old> <new> <committer> <epoch seconds> <tz>\\t<message>``. Ancestry is
never evidence: ``git merge -s ours`` puts a commit into a branch's history without its content.
Deleting a ref deletes its reflog, so a deletion is proven only by post-receive.

The hook reports what it read (``evidence``); the service decides from it (``policy.deploys``).
Standard library only: the hooks run this.
"""

from __future__ import annotations

import os


def path_of(git_dir: str, ref: str) -> str | None:
    """The reflog file of ``ref``, or None for a name that is not a plain ref (a forged one)."""
    parts = ref.split("/")
    if parts[0] != "refs" or len(parts) < 3 or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    return os.path.join(git_dir, "logs", *parts)


def lines(git_dir: str, ref: str) -> list[tuple[str, str, int]] | None:
    """``(old, new, epoch seconds)`` of every reflog line of ``ref``, oldest first; None: no reflog."""
    path = path_of(git_dir, ref)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            raw = fh.read()
    except OSError:
        return None
    out = []
    for line in raw.splitlines():
        head = line.split("\t", 1)[0].split(" ")
        if len(head) < 5:
            continue
        try:
            out.append((head[0], head[1], int(head[-2])))
        except ValueError:
            continue
    return out


def evidence(git_dir: str, ref: str, old: str, new: str) -> dict[str, object]:
    """What the reflog of ``ref`` says about the update ``old → new``: whether there is a reflog,
    the time of its first line (and whether that line created the ref), and the times of the lines
    recording exactly ``old → new``."""
    found = lines(git_dir, ref)
    if found is None:
        return {"reflog": False, "first_at": None, "first_created": False, "matches": []}
    first = found[0] if found else None
    return {"reflog": True, "first_at": first[2] if first else None,
            "first_created": bool(first) and not first[0].strip("0"),  # type: ignore[index]
            "matches": [ts for o, n, ts in found if o == old and n == new]}
