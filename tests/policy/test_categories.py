from __future__ import annotations

import pytest

from gatekeeper.config import ApprovalRule, Category
from gatekeeper.policy.categories import classify, is_protected, matches, merge_rules


@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("erp/**", "erp/postings.csv", True),
    ("erp/**", "erp/a/b/c.csv", True),
    ("erp/**", "erpx/a.csv", False),
    ("*.md", "README.md", True),
    ("*.md", "docs/deep/x.md", True),
    ("*.md", "x.mdx", False),
    ("tags/*.json", "tags/a.json", True),
    ("tags/*.json", "tags/sub/a.json", False),
    ("recipes/**/*.xml", "recipes/a.xml", True),
    ("recipes/**/*.xml", "recipes/x/y/a.xml", True),
    ("docs/", "docs/a/b.txt", True),
    ("Rezepte/Würze *.xml", "Rezepte/Würze Ä.xml", True),
])
def test_patterns(pattern: str, path: str, hit: bool) -> None:
    assert matches(pattern, path) is hit


def cat(name: str, paths: tuple[str, ...], rules: tuple[tuple[str, int], ...] = ()) -> Category:
    return Category(name=name, paths=paths, approvals=tuple(ApprovalRule(g, n) for g, n in rules))


CATS = (
    cat("erp", ("erp/**",), (("finance", 1), ("leads", 1))),
    cat("csv", ("*.csv",), (("finance", 2),)),
    cat("docs", ("docs/**", "*.md"), ()),
    cat("default", (), (("leads", 1),)),
)


def test_several_categories_merge_rules_by_group_with_highest_count() -> None:
    cats = classify("erp/postings.csv", CATS)
    assert [c.name for c in cats] == ["erp", "csv"]
    assert merge_rules(cats) == (ApprovalRule("finance", 2), ApprovalRule("leads", 1))


def test_unmatched_path_gets_default_and_docs_need_nothing() -> None:
    assert [c.name for c in classify("plc/main.xml", CATS)] == ["default"]
    assert merge_rules(classify("docs/x.txt", CATS)) == ()


@pytest.mark.parametrize(("branch", "hit"), [("main", True), ("release/1.0", True), ("release/1/2", False),
                                             ("topic", False), ("mainline", False)])
def test_protected_branches(branch: str, hit: bool) -> None:
    assert is_protected(branch, ("main", "release/*")) is hit
