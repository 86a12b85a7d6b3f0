"""Tree paths no change may carry (issue 11 item 5), decided here whatever git's fsck said.

A crafted tree can hold entries named ``..``, ``.`` or ``.git``; ``docs/../tags/x`` would then be
classified by its first component (``docs``: no approval) while a checkout on a plant PC writes it
somewhere else. ``receive.fsckObjects`` (set by ``repo install-hooks``) makes git refuse such trees,
but it can be switched off, so the gate and CR opening refuse them too. Like git's own
``verify_path`` with ``core.protectNTFS``/``core.protectHFS``, a component is compared after removing
what Windows and macOS ignore: trailing dots and spaces and an NTFS stream suffix (``.git.``,
``.GIT::$INDEX_ALLOCATION``), the 8.3 short name ``git~1``, and the code points HFS+ ignores
(``.g\u200cit``). Backslashes separate components too (NTFS).
"""

from __future__ import annotations

import re

# Code points HFS+ ignores when comparing names (git's is_hfs_dot_generic / next_hfs_char).
_HFS_IGNORED = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")
_FORBIDDEN = {"": "an empty", ".": "a '.'", "..": "a '..'", ".git": "a '.git'", "git~1": "a '.git'"}


def _normalise(component: str) -> str:
    name = _HFS_IGNORED.sub("", component).split(":", 1)[0]  # ':' starts an NTFS alternate stream
    return name.rstrip(". ").lower() if name.strip(". ") else name.lower()


def bad_component(path: str) -> str | None:
    """Why ``path`` is refused (``"a '..' component"``), or ``None`` when it is an ordinary path."""
    for component in path.replace("\\", "/").split("/"):
        what = _FORBIDDEN.get(component) or _FORBIDDEN.get(_normalise(component))
        if what is not None:
            return f"{what} component"
    return None


def malformed(paths: list[str] | tuple[str, ...] | set[str] | frozenset[str]) -> list[str]:
    """One message per refused path, in path order."""
    return [f"malformed path {p!r}: {why} (git's fsck refuses such trees; a checkout would write "
            "elsewhere than the path says)" for p in sorted(paths) if (why := bad_component(p))]
