"""The words of a policy (SPEC §3, §4): categories, their approval rules, the roles.

``gatekeeper.config`` builds these from the policy file (and validates it); the rest of ``policy/``
decides with them. Frozen, hashable values: ``categories.classify`` caches on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MEANINGS = ("Reviewed and approved",)
DEFAULT_REJECT_MEANINGS = ("Reviewed and rejected",)  # SPEC §12 "Meanings": a rejection has its own words
APPROVE, REJECT = "approve", "reject"  # the two decisions of a signature
TICKET_REQUIRED, TICKET_OPTIONAL = "required", "optional"  # SPEC §11: a category's ``ticket`` key
DEFAULT_CATEGORY = "default"  # files matching no other category get its rules


@dataclass(frozen=True)
class ApprovalRule:
    """``count`` approvals by members of ``group``."""

    group: str
    count: int

    def to_dict(self) -> dict[str, object]:
        return {"group": self.group, "count": self.count}


@dataclass(frozen=True)
class Category:
    """Paths (``paths``, gitignore-like) and what a change to them needs. ``approvals = ()`` means "no
    approval needed": only an explicit ``approvals = []`` in the file gives that (fail closed)."""

    name: str
    paths: tuple[str, ...]
    approvals: tuple[ApprovalRule, ...]
    format: str | None = None
    financial: bool = False
    authors: tuple[str, ...] = ()
    meanings: tuple[str, ...] = DEFAULT_MEANINGS
    reject_meanings: tuple[str, ...] = DEFAULT_REJECT_MEANINGS
    ticket: str = TICKET_OPTIONAL
    ticket_pattern: str | None = None  # a regex the whole ticket id must match


def merge_rules(cats: Iterable[Category]) -> tuple[ApprovalRule, ...]:
    """Rules naming the same group merge into one with the highest count; others all apply."""
    merged: dict[str, int] = {}
    for cat in cats:
        for rule in cat.approvals:
            merged[rule.group] = max(rule.count, merged.get(rule.group, 0))
    return tuple(ApprovalRule(g, n) for g, n in sorted(merged.items()))


def meanings(cats: Iterable[Category], decision: str = APPROVE) -> list[str]:
    """The signature meanings a CR of these categories offers for ``decision``: ``meanings`` for an
    approval, ``reject_meanings`` for a rejection (SPEC §12), of every category that needs an approval,
    in policy order (the default when none does). A rejection never carries an approval's words."""
    reject = decision == REJECT
    seen: dict[str, None] = {}
    for cat in cats:
        if cat.approvals:
            seen.update(dict.fromkeys(cat.reject_meanings if reject else cat.meanings))
    return list(seen) or list(DEFAULT_REJECT_MEANINGS if reject else DEFAULT_MEANINGS)


class Role(StrEnum):
    """The roles of ``[roles]`` (SPEC §4): each names directory groups whose members hold it."""

    AUDITORS = "auditors"
    ADMINS = "admins"
    EMERGENCY = "emergency"
    ACCESS_REVIEWERS = "access_reviewers"  # run access reviews (SPEC §12)


@dataclass(frozen=True)
class Roles:
    """``[roles]``: the groups holding each role, and how long a break-glass change has for its
    retrospective approval."""

    auditors: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    emergency: tuple[str, ...] = ()
    emergency_review_hours: int = 72
    access_reviewers: tuple[str, ...] = ()

    def groups(self, role: Role) -> tuple[str, ...]:
        return {Role.AUDITORS: self.auditors, Role.ADMINS: self.admins, Role.EMERGENCY: self.emergency,
                Role.ACCESS_REVIEWERS: self.access_reviewers}[role]


def roles_of(groups: Iterable[str], roles: Roles) -> frozenset[Role]:
    """The roles held by someone in ``groups`` (their memberships, looked up now)."""
    held = set(groups)
    return frozenset(r for r in Role if held.intersection(roles.groups(r)))
