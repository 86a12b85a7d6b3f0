"""The words of a policy (``policy.rules``): merged approval rules, signature meanings, roles."""

from __future__ import annotations

from gatekeeper.policy.rules import (
    DEFAULT_MEANINGS,
    ApprovalRule,
    Category,
    Role,
    Roles,
    meanings,
    merge_rules,
    roles_of,
)


def cat(name: str, *rules: tuple[str, int], means: tuple[str, ...] = DEFAULT_MEANINGS) -> Category:
    return Category(name, (f"{name}/**",), tuple(ApprovalRule(g, n) for g, n in rules), meanings=means)


def test_rules_of_one_group_merge_to_the_highest_count_others_all_apply() -> None:
    merged = merge_rules([cat("tags", ("leads", 1)), cat("erp", ("leads", 2), ("finance", 1)), cat("docs")])
    assert merged == (ApprovalRule("finance", 1), ApprovalRule("leads", 2))
    assert merge_rules([]) == ()


def test_meanings_of_categories_that_need_approval_in_policy_order() -> None:
    erp = cat("erp", ("finance", 1), means=("Financially reviewed", "Reviewed and approved"))
    tags = cat("tags", ("leads", 1), means=("Reviewed and approved", "Safety reviewed"))
    free = cat("docs", means=("Never offered",))
    assert meanings([erp, free, tags]) == ["Financially reviewed", "Reviewed and approved", "Safety reviewed"]
    assert meanings([free]) == list(DEFAULT_MEANINGS)


def test_roles_of_someone_come_from_their_groups() -> None:
    roles = Roles(auditors=("audit",), admins=("ot-admins",), emergency=("oncall", "ot-admins"),
                  access_reviewers=("it-sec",))
    assert roles_of(["ot-admins", "engineers"], roles) == {Role.ADMINS, Role.EMERGENCY}
    assert roles_of(["audit", "it-sec"], roles) == {Role.AUDITORS, Role.ACCESS_REVIEWERS}
    assert roles_of([], roles) == frozenset() and roles_of(["engineers"], Roles()) == frozenset()
    assert {r.value for r in Role} == {"auditors", "admins", "emergency", "access_reviewers"}
    assert all(roles.groups(r) for r in Role)


def test_rule_values_serialise_and_hash() -> None:
    assert ApprovalRule("leads", 2).to_dict() == {"group": "leads", "count": 2}
    assert len({cat("a", ("x", 1)), cat("a", ("x", 1))}) == 1  # classify caches on them
