"""Which categories a path belongs to, and the approval rules that follow (SPEC §4).

Patterns are gitignore-like: ``*`` stays within one path segment, ``**`` spans segments, and a
pattern without ``/`` matches the file name at any depth (``*.md``). Branch patterns
(``release/*``) use the same matcher.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every push a few ms
if TYPE_CHECKING:  # the hooks import this module; they must not pay for the config dataclasses
    from gatekeeper.config import ApprovalRule, Category


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    anchored = "/" in pattern.rstrip("/")
    pat = pattern.lstrip("/")
    if pat.endswith("/"):
        pat += "**"
    out, i = [], 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    body = "".join(out)
    return re.compile(body + r"\Z" if anchored else r"(?:.*/)?" + body + r"\Z")


def matches(pattern: str, path: str) -> bool:
    return _compile(pattern).match(path) is not None


def classify(path: str, categories: Iterable[Category]) -> tuple[Category, ...]:
    """Every category whose patterns match; none matching → the ``default`` category."""
    return _classify(path, tuple(categories))


@lru_cache(maxsize=65536)
def _classify(path: str, cats: tuple[Category, ...]) -> tuple[Category, ...]:
    hits = tuple(c for c in cats if c.name != "default" and any(matches(p, path) for p in c.paths))
    if hits:
        return hits
    default = next((c for c in cats if c.name == "default"), None)
    return (default,) if default else ()


def merge_rules(cats: Iterable[Category]) -> tuple[ApprovalRule, ...]:
    """Rules naming the same group merge into one with the highest count; others all apply."""
    from gatekeeper.config import ApprovalRule

    merged: dict[str, int] = {}
    for cat in cats:
        for rule in cat.approvals:
            merged[rule.group] = max(rule.count, merged.get(rule.group, 0))
    return tuple(ApprovalRule(g, n) for g, n in sorted(merged.items()))


def is_protected(branch: str, patterns: Iterable[str]) -> bool:
    return any(matches(p, branch) for p in patterns)


def branch_name(ref: str) -> str | None:
    return ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else None
