"""Which categories a path belongs to, which branches are protected, and the rules that follow (SPEC §4).

Two matchers, different on purpose (the README shows them side by side):

- **path patterns** (``categories.paths``) are gitignore-like: ``*``, ``?`` and ``[...]`` stay within
  one path segment, ``**`` spans segments, a pattern without ``/`` matches the file name at any depth
  (``*.md``), a trailing ``/`` means everything below that folder, a leading ``/`` anchors at the root.
- **branch patterns** (``repos.protected``) match the *whole* branch name, never its last segment
  (``main`` does not protect ``fix/main``); ``*`` and ``**`` match any characters, ``/`` included
  (``release/*`` protects ``release/2026/q1``, as GitLab's wildcard protection and a Gerrit
  ``refs/heads/release/*`` would), ``?`` any one character, ``[...]`` one of a class; a leading
  ``refs/heads/`` and a trailing ``/`` (``release/`` = ``release/**``) are understood; case is ignored
  (``MAIN`` is protected by ``main``: on a case-insensitive file system both are one ref file).

Both fail closed: a pattern that cannot be read is an error (``*_pattern_problem``), never a pattern
that silently matches nothing, and when in doubt a branch counts as protected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from gatekeeper.policy.refs import (
    HEADS,
    LISTED,
    PROTECTED_BRANCH,
    PROTECTED_TAG,
    TAG,
    TAGS,
    TOPIC,
    UNLISTED,
    is_pattern,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every push a few ms
if TYPE_CHECKING:  # for the annotations only: the hooks must not pay for importing dataclasses
    from gatekeeper.policy.rules import Category


def _char_class(pat: str, i: int, *, slash: bool) -> tuple[str, int]:
    """``[...]`` starting at ``pat[i]`` as a regex class and the index after it (fnmatch/gitignore:
    ``!`` or ``^`` negates, a ``]`` right after the opening is literal, ``\\`` escapes). ``slash``:
    may the class match ``/`` (in a path it never does, like ``*``)."""
    j = i + 1
    negate = j < len(pat) and pat[j] in "!^"
    j += negate
    items: list[str] = []
    while j < len(pat) and (pat[j] != "]" or not items):
        escaped = pat[j] == "\\" and j + 1 < len(pat)
        j += escaped
        items.append("\\" + pat[j] if escaped or pat[j] in "\\^[]" else pat[j])
        j += 1
    if j >= len(pat):
        raise ValueError(f"unterminated character class in {pat!r} (close it with ']' or write '\\[')")
    body = "".join(items)
    try:
        re.compile(f"[{body}]")
    except re.error as exc:
        raise ValueError(f"bad character class [{body}] in {pat!r}: {exc}") from exc
    if negate:
        return "[^" + body + ("" if slash else "/") + "]", j + 1
    return ("" if slash else "(?!/)") + "[" + body + "]", j + 1


def _translate(pat: str, *, segments: bool) -> str:
    """The wildcard body of a pattern as a regex; ``\\`` escapes the next character. ``segments``:
    ``*``, ``?`` and ``[...]`` stay within one ``/``-separated segment (paths) or not (branches)."""
    out, i = [], 0
    while i < len(pat):
        c = pat[i]
        if c == "\\" and i + 1 < len(pat):
            out.append(re.escape(pat[i + 1]))
            i += 2
        elif pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*" if segments else ".*")
            i += 1
        elif c == "?":
            out.append("[^/]" if segments else ".")
            i += 1
        elif c == "[":
            cls, i = _char_class(pat, i, slash=not segments)
            out.append(cls)
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


# --- paths ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1024)
def _compile_path(pattern: str) -> re.Pattern[str]:
    anchored = "/" in pattern.rstrip("/")
    pat = pattern.lstrip("/")
    if pat.endswith("/"):
        pat += "**"
    body = _translate(pat, segments=True)
    return re.compile(body + r"\Z" if anchored else r"(?:.*/)?" + body + r"\Z", re.DOTALL)


def path_matches(pattern: str, path: str) -> bool:
    """gitignore-like match of a repo-relative file path (see the module docstring)."""
    return _compile_path(pattern).match(path) is not None


def path_pattern_problem(pattern: str) -> str | None:
    """Why a path pattern cannot be used as written, or None (config validation, fail closed)."""
    if not pattern.strip():
        return "an empty pattern matches no file"
    if pattern != pattern.strip():
        return f"{pattern!r} starts or ends with a space (a file name pattern would have to match it too)"
    if pattern.startswith("!"):
        return f"{pattern!r}: negation ('!') is not supported; a file matching no category gets 'default'"
    try:
        _compile_path(pattern)
    except ValueError as exc:
        return str(exc)
    return None


def classify(path: str, categories: Iterable[Category]) -> tuple[Category, ...]:
    """Every category whose patterns match; none matching → the ``default`` category."""
    return _classify(path, tuple(categories))


@lru_cache(maxsize=65536)
def _classify(path: str, cats: tuple[Category, ...]) -> tuple[Category, ...]:
    hits = tuple(c for c in cats if c.name != "default" and any(path_matches(p, path) for p in c.paths))
    if hits:
        return hits
    default = next((c for c in cats if c.name == "default"), None)
    return (default,) if default else ()


# --- branches ------------------------------------------------------------------------------------

def branch_pattern(pattern: str) -> str:
    """The canonical form of a protection pattern: no surrounding space, no ``refs/heads/`` or
    leading ``/``, a trailing ``/`` spelled ``/**``."""
    pat = pattern.strip()
    pat = pat.removeprefix(HEADS).lstrip("/")
    return pat + "**" if pat.endswith("/") else pat


@lru_cache(maxsize=1024)
def _compile_branch(pattern: str) -> re.Pattern[str]:
    pat = branch_pattern(pattern)
    if not pat:
        raise ValueError("an empty branch pattern protects nothing")
    body = _translate(pat, segments=False)
    return re.compile(body + r"\Z", re.IGNORECASE | re.DOTALL)


def branch_matches(pattern: str, branch: str) -> bool:
    """Whether a protection pattern covers a branch (a name, or a ``refs/heads/`` ref): the whole name.

    A branch literally named ``refs/heads/x`` is checked as itself and as ``x``, so it cannot slip
    past a pattern meant for ``x``.
    """
    rx = _compile_branch(pattern)
    return rx.match(branch) is not None or (branch.startswith(HEADS) and rx.match(branch[len(HEADS):]) is not None)


def branch_pattern_problem(pattern: str) -> str | None:
    """Why a protection pattern cannot be used as written, or None (config validation, fail closed)."""
    pat = branch_pattern(pattern)
    if not pat:
        return "an empty pattern protects nothing"
    if pat.startswith("refs/"):
        return (f"{pattern!r}: only branches are protected; write the branch name (main, release/*) "
                "or refs/heads/<branch>")
    if pat.startswith("!"):
        return f"{pattern!r}: negation ('!') is not supported; list the branches to protect"
    if bad := sorted({c for c in pat if c in " ~^:" or ord(c) < 32}):
        return f"{pattern!r} contains {''.join(bad)!r}, which git forbids in branch names: it would protect nothing"
    try:
        _compile_branch(pattern)
    except ValueError as exc:
        return str(exc)
    return None


def protecting(branch: str, patterns: Iterable[str]) -> tuple[str, ...]:
    """The patterns that protect ``branch`` (empty: not protected)."""
    return tuple(p for p in patterns if branch_matches(p, branch))


def is_protected(branch: str, patterns: Iterable[str]) -> bool:
    return any(branch_matches(p, branch) for p in patterns)


# --- tags and other refs (SPEC §12 "Refs": the same matcher, on the whole name) --------------------

def tag_pattern(pattern: str) -> str:
    """The canonical form of a protected-tag pattern: no surrounding space, no ``refs/tags/``."""
    pat = pattern.strip().removeprefix(TAGS).lstrip("/")
    return pat + "**" if pat.endswith("/") else pat


@lru_cache(maxsize=1024)
def _compile_ref(pattern: str) -> re.Pattern[str]:
    if not pattern:
        raise ValueError("an empty pattern matches nothing")
    return re.compile(_translate(pattern, segments=False) + r"\Z", re.IGNORECASE | re.DOTALL)


def tag_protected(tag: str, patterns: Iterable[str]) -> bool:
    return any(_compile_ref(tag_pattern(p)).match(tag) is not None for p in patterns)


def ref_listed(ref: str, patterns: Iterable[str]) -> bool:
    return any(_compile_ref(p.strip()).match(ref) is not None for p in patterns)


def tag_pattern_problem(pattern: str) -> str | None:
    """Why a ``protected_tags`` pattern cannot be used as written, or None (fail closed)."""
    pat = tag_pattern(pattern)
    if not pat:
        return "an empty pattern protects nothing"
    if pat.startswith("refs/"):
        return f"{pattern!r}: write the tag name (v*, release-*) or refs/tags/<tag>"
    if bad := sorted({c for c in pat if c in " ~^:" or ord(c) < 32}):
        return f"{pattern!r} contains {''.join(bad)!r}, which git forbids in tag names: it would protect nothing"
    try:
        _compile_ref(pat)
    except ValueError as exc:
        return str(exc)
    return None


def other_ref_problem(pattern: str) -> str | None:
    """Why an ``other_refs`` pattern cannot be used as written, or None (fail closed)."""
    pat = pattern.strip()
    if not pat.startswith("refs/") or pat.startswith((HEADS, TAGS)) or pat in ("refs/", "refs/*", "refs/**"):
        return (f"{pattern!r}: name refs outside refs/heads/ and refs/tags/ (refs/notes/*, refs/for/*); "
                "branches and tags have their own rules")
    try:
        _compile_ref(pat)
    except ValueError as exc:
        return str(exc)
    return None


def rule_of(ref: str, protected: Iterable[str], protected_tags: Iterable[str] = (),
            other_refs: Iterable[str] = ()) -> str:
    """The rule for ``ref`` in a repo (``policy.refs``: protected branch, topic, protected tag, tag,
    listed or unlisted other ref). The hooks and the service both ask this."""
    if ref.startswith(HEADS):
        return PROTECTED_BRANCH if is_protected(ref[len(HEADS):], protected) else TOPIC
    if ref.startswith(TAGS):
        return PROTECTED_TAG if tag_protected(ref[len(TAGS):], protected_tags) else TAG
    return LISTED if ref_listed(ref, other_refs) else UNLISTED


def default_target(protected: Iterable[str]) -> str | None:
    """Where a topic push's CR aims without ``-o gatekeeper.target``: the repo's first protected
    branch that is a plain name (``main``, not ``release/*``)."""
    return next((p for p in protected if not is_pattern(p)), None)


def valid_target(target: str | None, protected: Iterable[str]) -> bool:
    """A CR aims at one protected branch: a name (not a pattern) that the repo's patterns protect."""
    return bool(target) and not is_pattern(target or "") and is_protected(target or "", protected)
