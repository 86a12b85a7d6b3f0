"""Who may change and approve what (SPEC §12 "Access review"), as pure values: rights per person from
the policy and the directory's resolved memberships, the conflict matrix, dormancy, and the diff
between two snapshots. No I/O: ``actions.access`` gathers the inputs and records the results.

A *right* is one way a person can act on the controlled configuration: ``author`` (in a category's
``authors``), ``approve`` (in a group an approval rule names), ``emergency``, ``audit`` or ``admin``.
Rights exercised on a repo (author, approve, emergency) are listed per repo; ``audit`` and ``admin``
are service-wide (``repo`` empty) and so meet every repo in the conflict matrix. The key of a right
is ``(username, right, repo, category, group)``; ``name``, ``via`` and ``disabled`` describe it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gatekeeper.ledger.canonical import canon

RIGHTS = ("author", "approve", "emergency", "audit", "admin")
REPO_RIGHTS = ("author", "approve", "emergency")  # listed per repo; audit and admin are service-wide
DEFAULT_CONFLICTS = ("admin+approve", "admin+author", "audit+approve", "audit+author", "emergency+approve",
                     "emergency+author")
DISABLED = "disabled"
DEFAULT_DORMANT_DAYS = 90
COLUMNS = ("username", "name", "right", "repo", "category", "group", "via", "conflicts", "last_activity",
           "dormant")
DECISIONS = ("keep", "revoke")
RIGHTS_DOMAIN = b"gatekeeper.access.v1\x00"
ROWS_DOMAIN = b"gatekeeper.access-review.v1\x00"
Key = tuple[str, str, str, str, str]


# -- the conflict matrix ----------------------------------------------------------------------------
def conflict_problem(code: str) -> str | None:
    """Why ``code`` is not a conflict code (``right+right``, two different known rights), else None."""
    parts = code.split("+")
    if len(parts) != 2 or not all(parts):
        return f"{code!r} must be two rights joined by '+', e.g. \"admin+approve\""
    unknown = [p for p in parts if p not in RIGHTS]
    if unknown:
        return f"{code!r}: unknown right {unknown[0]!r} (rights: {', '.join(RIGHTS)})"
    if parts[0] == parts[1]:
        return f"{code!r} names the same right twice"
    return None


def conflict_pair(code: str) -> tuple[str, str]:
    a, b = code.split("+")
    return a, b


# -- rights ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grant:
    """Membership of ``group`` gives ``right`` (for ``repo`` and ``category`` where they apply)."""

    right: str
    group: str
    repo: str = ""
    category: str = ""


def grants(repos: Sequence[str], categories: Iterable[tuple[str, Sequence[str], Sequence[str]]],
           emergency: Sequence[str], auditors: Sequence[str], admins: Sequence[str]) -> tuple[Grant, ...]:
    """Every grant the policy makes; ``categories`` are ``(name, author groups, approving groups)``."""
    out: dict[Grant, None] = {}
    cats = list(categories)
    for repo in repos:
        for name, authors, approvers in cats:
            out.update((Grant("author", g, repo, name), None) for g in authors)
            out.update((Grant("approve", g, repo, name), None) for g in approvers)
        out.update((Grant("emergency", g, repo), None) for g in emergency)
    out.update((Grant("audit", g), None) for g in auditors)
    out.update((Grant("admin", g), None) for g in admins)
    return tuple(out)


@dataclass(frozen=True)
class Holder:
    """A directory account in a group (nested included), enabled or not."""

    username: str
    name: str
    via: tuple[str, ...]
    disabled: bool = False


@dataclass(frozen=True, order=True)
class Right:
    username: str
    right: str
    repo: str
    category: str
    group: str
    name: str = ""
    via: tuple[str, ...] = ()
    disabled: bool = False

    @property
    def key(self) -> Key:
        return (self.username, self.right, self.repo, self.category, self.group)

    def to_list(self) -> list[Any]:
        """The snapshot encoding (``access.snapshot``): one JSON array per right."""
        return [self.username, self.right, self.repo, self.category, self.group, self.name, list(self.via),
                self.disabled]

    @classmethod
    def from_list(cls, item: Sequence[Any]) -> Right:
        """Read one snapshot item back; anything malformed is a ``ValueError`` (the log is evidence)."""
        if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 8:
            raise ValueError(f"a right is 8 values, not {item!r}")
        username, right, repo, category, group, name, via, disabled = item
        texts = (username, right, repo, category, group, name)
        if not all(isinstance(t, str) for t in texts) or right not in RIGHTS or not username or not group:
            raise ValueError(f"not a right: {item!r}")
        if isinstance(via, str) or not isinstance(via, Sequence) or not all(isinstance(v, str) for v in via) \
                or not isinstance(disabled, bool):
            raise ValueError(f"not a right: {item!r}")
        return cls(username, right, repo, category, group, name, tuple(via), disabled)


def resolve(given: Iterable[Grant], members: Mapping[str, Sequence[Holder]]) -> list[Right]:
    """The rights the grants give the members of their groups, one per key, sorted by key."""
    out: dict[Key, Right] = {}
    for grant in given:
        for h in members.get(grant.group, ()):
            r = Right(h.username, grant.right, grant.repo, grant.category, grant.group, h.name, h.via, h.disabled)
            out.setdefault(r.key, r)
    return [out[k] for k in sorted(out)]


def rights_hash(rights: Iterable[Right]) -> str:
    """SHA-256 of the sorted rights under their own domain tag: what ``access.snapshot`` certifies."""
    return hashlib.sha256(RIGHTS_DOMAIN + canon(sorted(r.to_list() for r in rights))).hexdigest()


# -- conflicts and dormancy --------------------------------------------------------------------------
def conflicts(rights: Iterable[Right], matrix: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per person, the sorted codes of the matrix they hold both sides of (for one repo, a service-wide
    right meeting every repo), plus ``disabled`` for a disabled account still holding rights."""
    held: dict[str, list[tuple[str, str]]] = defaultdict(list)
    disabled: set[str] = set()
    for r in rights:
        held[r.username].append((r.right, r.repo))
        if r.disabled:
            disabled.add(r.username)
    pairs = [(code, *conflict_pair(code)) for code in matrix]
    out: dict[str, tuple[str, ...]] = {}
    for user, items in held.items():
        codes = {code for code, a, b in pairs if _both(items, a, b)}
        if user in disabled:
            codes.add(DISABLED)
        out[user] = tuple(sorted(codes))
    return out


def _both(items: Sequence[tuple[str, str]], a: str, b: str) -> bool:
    repos_a = {repo for right, repo in items if right == a}
    repos_b = {repo for right, repo in items if right == b}
    if not repos_a or not repos_b:
        return False
    return "" in repos_a or "" in repos_b or bool(repos_a & repos_b)


def is_dormant(reference: str | None, now: str, days: int) -> bool:
    """No activity (nor first grant, nor log start: ``reference``) within ``days`` before ``now``."""
    if reference is None:
        return False
    return _parse(now) - _parse(reference) > timedelta(days=days)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


# -- review rows -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One row of the access review: a right with its person's conflicts and activity."""

    right: Right
    conflicts: tuple[str, ...] = ()
    last_activity: str | None = None
    dormant: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The columns (SPEC §12), as the export and the log entries of a campaign hold them."""
        r = self.right
        return {"username": r.username, "name": r.name, "right": r.right, "repo": r.repo,
                "category": r.category, "group": r.group, "via": " > ".join(r.via),
                "conflicts": ";".join(self.conflicts), "last_activity": self.last_activity or "",
                "dormant": self.dormant}


def rows(rights: Sequence[Right], matrix: Sequence[str], activity: Mapping[str, str], since: Mapping[str, str],
         now: str, dormant_days: int, floor: str | None = None) -> list[Row]:
    """Review rows: ``activity`` is each person's last act, ``since`` when a snapshot first showed them
    holding a right, ``floor`` when the log began (dormancy cannot be older than the evidence)."""
    codes = conflicts(rights, matrix)
    out = []
    for r in rights:
        last = activity.get(r.username)
        reference = max((t for t in (last, since.get(r.username), floor) if t), default=None)
        out.append(Row(r, codes.get(r.username, ()), last, is_dormant(reference, now, dormant_days)))
    return out


def rows_hash(items: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of a campaign's rows (their column values), sorted: binds what was opened to what was signed."""
    return hashlib.sha256(ROWS_DOMAIN + canon(sorted([[row[c] for c in COLUMNS] for row in items]))).hexdigest()


def summary(items: Sequence[Row], matrix: Sequence[str]) -> dict[str, Any]:
    """Heads the page and the export: people per conflict code, disabled and dormant people."""
    people: dict[str, Row] = {}
    for row in items:
        people.setdefault(row.right.username, row)
    per_code = {code: sum(1 for r in people.values() if code in r.conflicts) for code in (*matrix, DISABLED)}
    return {"people": len(people), "rows": len(items), "conflicts": per_code,
            "conflict_pairs": sum(n for code, n in per_code.items() if code != DISABLED),
            "disabled": per_code[DISABLED], "dormant": sum(1 for r in people.values() if r.dormant)}


# -- snapshots: what changed between two -------------------------------------------------------------
@dataclass(frozen=True)
class Diff:
    gained: tuple[Right, ...] = ()
    lost: tuple[Right, ...] = ()
    changed: tuple[Right, ...] = field(default=())  # same key; name, via or disabled differ (new values)

    @property
    def empty(self) -> bool:
        return not (self.gained or self.lost or self.changed)


def diff(old: Mapping[Key, Right], new: Sequence[Right]) -> Diff:
    current = {r.key: r for r in new}
    gained = tuple(r for k, r in sorted(current.items()) if k not in old)
    lost = tuple(r for k, r in sorted(old.items()) if k not in current)
    changed = tuple(r for k, r in sorted(current.items()) if k in old and old[k] != r)
    return Diff(gained, lost, changed)


def apply(state: dict[Key, Right], d: Diff) -> None:
    """Replay one snapshot's diff onto ``state``; a diff that does not fit it is a ``ValueError``."""
    for r in d.lost:
        if state.get(r.key) != r:
            raise ValueError(f"lost right {r.key} was not held as recorded")
        del state[r.key]
    for r in d.changed:
        if r.key not in state or state[r.key] == r:
            raise ValueError(f"changed right {r.key} was not held, or did not change")
        state[r.key] = r
    for r in d.gained:
        if r.key in state:
            raise ValueError(f"gained right {r.key} was already held")
        state[r.key] = r
