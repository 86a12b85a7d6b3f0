"""The policy part of the file (SPEC §3, §4): ``[[repos]]``, ``[[categories]]`` and ``[roles]``, read into
the values of ``gatekeeper.policy`` (``Category``, ``ApprovalRule``, ``Roles``) and checked as a whole."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.config.toml import Locator, Reader, resolve_path
from gatekeeper.errors import ConfigError
from gatekeeper.policy.categories import (
    branch_pattern,
    branch_pattern_problem,
    other_ref_problem,
    path_pattern_problem,
    tag_pattern,
    tag_pattern_problem,
)
from gatekeeper.policy.registry import FORMAT_NAMES
from gatekeeper.policy.rules import (
    DEFAULT_CATEGORY,
    DEFAULT_MEANINGS,
    DEFAULT_REJECT_MEANINGS,
    TICKET_OPTIONAL,
    TICKET_REQUIRED,
    ApprovalRule,
    Category,
    Role,
    Roles,
)


@dataclass(frozen=True)
class RepoConfig:
    name: str
    protected: tuple[str, ...]
    path: Path | None = None  # the bare repo on this host: drift checks read approved content from it
    protected_tags: tuple[str, ...] = ()   # SPEC §12: tags created only on content a protected branch holds
    other_refs: tuple[str, ...] = ()       # SPEC §12: refs outside refs/heads/ and refs/tags/ that are accepted


def read_roles(r: Reader) -> Roles:
    roles = Roles(
        auditors=r.strings("auditors"),
        admins=r.strings("admins"),
        emergency=r.strings("emergency"),
        emergency_review_hours=r.get("emergency_review_hours", int, Roles.emergency_review_hours),
        access_reviewers=r.strings("access_reviewers"),
    )
    if roles.emergency_review_hours <= 0:
        raise r.fail("emergency_review_hours", "must be a positive number of hours")
    r.finish()
    return roles


def read_repo(r: Reader, base: Path) -> RepoConfig:
    name = r.get("name", str, required=True)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-/]*", name):
        raise r.fail("name", "may hold letters, digits, '.', '_', '-' and '/' only")
    r.label = f"repos[{name}]"
    protected = r.strings("protected", required=True)
    if not protected:
        raise r.fail("protected", "must name at least one branch or pattern")
    for pattern in protected:  # fail closed: a pattern that cannot be read would protect nothing
        if problem := branch_pattern_problem(pattern):
            raise r.fail("protected", problem)
    tags = r.strings("protected_tags")
    for pattern in tags:
        if problem := tag_pattern_problem(pattern):
            raise r.fail("protected_tags", problem)
    others = r.strings("other_refs")
    for pattern in others:
        if problem := other_ref_problem(pattern):
            raise r.fail("other_refs", problem)
    path = r.get("path", str, None)
    r.finish()
    return RepoConfig(name=name, protected=tuple(branch_pattern(p) for p in protected),
                      path=resolve_path(base, path) if path else None,
                      protected_tags=tuple(tag_pattern(p) for p in tags), other_refs=tuple(p.strip() for p in others))


def read_category(r: Reader) -> Category:
    name = r.get("name", str, required=True)
    r.label = f"categories[{name}]"
    paths = r.strings("paths", (), required=name != DEFAULT_CATEGORY)
    for pattern in paths:
        if problem := path_pattern_problem(pattern):
            raise r.fail("paths", problem)
    if "approvals" not in r.data:
        # Fail closed: only an explicit ``approvals = []`` means "no approval needed".
        raise r.fail("approvals", "is required (write approvals = [] for no approval)")
    rules_raw = r.get("approvals", list)
    rules: dict[str, int] = {}
    for i, rule in enumerate(rules_raw):
        if not isinstance(rule, dict) or set(rule) - {"group", "count"} or not isinstance(rule.get("group"), str):
            raise r.fail("approvals", f"rule {i + 1} must be {{ group = \"...\", count = N }}")
        count = rule.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise r.fail("approvals", f"rule {i + 1}: count must be a positive integer")
        rules[rule["group"]] = max(count, rules.get(rule["group"], 0))
    fmt = r.get("format", str, None)
    if fmt is not None and fmt not in FORMAT_NAMES:
        raise r.fail("format", f"unknown format {fmt!r} (known: {', '.join(FORMAT_NAMES)})")
    meanings = r.strings("meanings", DEFAULT_MEANINGS)
    if not meanings:
        raise r.fail("meanings", "must list at least one signature meaning")
    reject_meanings = r.strings("reject_meanings", DEFAULT_REJECT_MEANINGS)
    if not reject_meanings:
        raise r.fail("reject_meanings", "must list at least one rejection meaning")
    if shared := sorted(set(meanings) & set(reject_meanings)):
        # A rejection recorded as "Reviewed and approved" is the very misstatement SPEC §12 forbids.
        raise r.fail("reject_meanings", f"{shared[0]!r} is also an approval meaning: a rejection needs its own words")
    ticket = r.get("ticket", str, TICKET_OPTIONAL)
    if ticket not in (TICKET_REQUIRED, TICKET_OPTIONAL):
        raise r.fail("ticket", 'must be "required" or "optional"')
    pattern = r.get("ticket_pattern", str, None)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise r.fail("ticket_pattern", f"is not a valid regular expression: {exc}") from exc
    cat = Category(
        name=name, paths=paths, approvals=tuple(ApprovalRule(g, c) for g, c in rules.items()),
        format=fmt, financial=r.get("financial", bool, False), authors=r.strings("authors"),
        meanings=meanings, reject_meanings=reject_meanings, ticket=ticket, ticket_pattern=pattern,
    )
    r.finish()
    return cat


def check_whole(repos: tuple[RepoConfig, ...], cats: tuple[Category, ...], root: Reader) -> None:
    if not repos:
        raise root.fail("repos", "at least one [[repos]] table is required")
    names = [c.name for c in cats]
    if DEFAULT_CATEGORY not in names:
        raise root.fail("categories", 'a category named "default" is required (files matching no '
                                      "other category get its rules)")
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError("category defined twice", file=root.file, key=f"categories[{n}].name",
                              line=root.loc.line("categories", i, "name"))
    repo_names = [r.name for r in repos]
    for i, n in enumerate(repo_names):
        if n in repo_names[:i]:
            raise ConfigError("repo defined twice", file=root.file, key="repos.name",
                              line=root.loc.line("repos", i, "name"))


def check_groups(raw: bytes, file: str, categories: tuple[Category, ...], roles: Roles,
                 exists: Callable[[str], bool]) -> None:
    """Every group the policy names must exist in the directory (typos would silently block)."""
    locator = Locator(raw.decode("utf-8"))

    def check(table: str, index: int, key: str, label: str, group: str) -> None:
        if not exists(group):
            raise ConfigError(f"group {group!r} is not known to the directory", file=file, key=label,
                              line=locator.line(table, index, key))

    for i, cat in enumerate(categories):
        for rule in cat.approvals:
            check("categories", i, "approvals", f"categories[{cat.name}].approvals", rule.group)
        for g in cat.authors:
            check("categories", i, "authors", f"categories[{cat.name}].authors", g)
    for role in Role:
        for g in roles.groups(role):
            check("roles", 0, role.value, f"roles.{role.value}", g)
