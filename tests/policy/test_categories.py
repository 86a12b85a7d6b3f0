from __future__ import annotations

import pytest

from gatekeeper.policy.categories import (
    branch_matches,
    branch_pattern,
    branch_pattern_problem,
    classify,
    is_protected,
    path_matches,
    path_pattern_problem,
    protecting,
)
from gatekeeper.policy.rules import ApprovalRule, Category, merge_rules


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
    ("main", "fix/main", True),  # a path pattern without '/' matches the file name at any depth
    ("/README.md", "README.md", True),
    ("/README.md", "docs/README.md", False),
    ("recipes/[A-Z]*.xml", "recipes/Mix.xml", True),  # character classes, as in gitignore
    ("recipes/[A-Z]*.xml", "recipes/mix.xml", False),
    ("recipes/[!a]*.xml", "recipes/b.xml", True),
    ("recipes/[!a]*.xml", "recipes/a.xml", False),
    ("a[/]b", "a/b", False),  # a class never matches '/' in a path, like '*'
    ("a?b", "a/b", False),
    ("\\*.md", "*.md", True),  # a backslash escapes a wildcard
    ("\\*.md", "x.md", False),
    ("*.CSV", "erp/a.csv", False),  # paths are case-sensitive, as in git
    ("erp/**", "erp/a\nb.csv", True),  # a newline in a file name does not end the match
])
def test_path_patterns(pattern: str, path: str, hit: bool) -> None:
    assert path_matches(pattern, path) is hit


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


@pytest.mark.parametrize(("branch", "hit"), [
    ("main", True), ("release/1.0", True),
    ("release/2026/q1", True),  # '*' in a branch pattern crosses '/': all of release/ is protected (GitLab, Gerrit)
    ("fix/main", False),  # the whole name: 'main' is not the last segment's pattern
    ("main/fix", False), ("topic", False), ("mainline", False), ("release", False), ("releases/1", False),
    ("MAIN", True), ("Release/2026/Q1", True),  # case-insensitive file systems make Main and main one ref
    ("refs/heads/main", True),  # a ref, or a branch literally named refs/heads/main
])
def test_protected_branches(branch: str, hit: bool) -> None:
    assert is_protected(branch, ("main", "release/*")) is hit


@pytest.mark.parametrize(("pattern", "branch", "hit"), [
    ("refs/heads/main", "main", True),  # config may name the ref
    ("refs/heads/main", "fix/main", False),
    (" main ", "main", True),
    ("/main", "main", True),
    ("release/", "release/2026/q1", True),  # a trailing slash: everything below
    ("release/**", "release/a/b", True),
    ("release/**/hotfix", "release/hotfix", True),
    ("*", "anything/at/all", True),
    ("*-stable", "fix/1-stable", True),  # as GitLab: '*' matches any characters
    ("v[0-9]*", "v12.1", True),
    ("v[0-9]*", "vx", False),
    ("v[!0-9]*", "vx", True),
    ("hot?ix", "hotfix", True),
    ("hot?ix", "hot/ix", True),  # '?' is any one character in a branch pattern
    ("release/\\*", "release/*", True),
    ("release/\\*", "release/1", False),
])
def test_branch_patterns(pattern: str, branch: str, hit: bool) -> None:
    assert branch_matches(pattern, branch) is hit


@pytest.mark.parametrize(("pattern", "problem"), [
    ("", "empty"), ("  ", "empty"), ("refs/heads/", "empty"),
    ("refs/tags/v*", "only branches are protected"),
    ("!main", "negation"),
    ("rel ease", "git forbids"), ("main~1", "git forbids"),
    ("release/[0-9", "unterminated character class"),
    ("[z-a]", "bad character class"),
])
def test_unusable_branch_patterns_are_errors(pattern: str, problem: str) -> None:
    assert problem in (branch_pattern_problem(pattern) or "")
    if problem in ("unterminated character class", "bad character class"):
        with pytest.raises(ValueError, match=problem):
            branch_matches(pattern, "x")  # never a pattern silently matching nothing


@pytest.mark.parametrize("pattern", ["main", "release/*", "refs/heads/main", "release/", "v[0-9]*", "*"])
def test_usable_branch_patterns(pattern: str) -> None:
    assert branch_pattern_problem(pattern) is None


def test_branch_pattern_canonical_form_and_protecting() -> None:
    assert [branch_pattern(p) for p in ("refs/heads/main", " main", "release/", "/x")] == \
        ["main", "main", "release/**", "x"]
    assert protecting("release/2026/q1", ("main", "release/*", "*/q1")) == ("release/*", "*/q1")
    assert protecting("fix/main", ("main",)) == ()


@pytest.mark.parametrize(("pattern", "problem"), [
    ("", "empty"), ("!docs/**", "negation"), ("erp/[ab", "unterminated"), (" erp/**", "space"),
])
def test_unusable_path_patterns_are_errors(pattern: str, problem: str) -> None:
    assert problem in (path_pattern_problem(pattern) or "")


def test_every_ref_has_a_rule() -> None:
    """SPEC §12 "Refs": branches, tags (whole name, the branch matcher) and other refs only when listed."""
    from gatekeeper.policy.categories import other_ref_problem, rule_of, tag_pattern_problem

    args = (("main",), ("v*", "refs/tags/release/"), ("refs/notes/*",))
    assert [rule_of(r, *args) for r in ("refs/heads/main", "refs/heads/topic", "refs/tags/v1.0",
                                         "refs/tags/release/2024/1", "refs/tags/other", "refs/notes/commits",
                                         "refs/for/main", "refs/pull/1/head")] == [
        "protected-branch", "topic", "protected-tag", "protected-tag", "tag", "listed", "unlisted", "unlisted"]
    assert tag_pattern_problem("") and tag_pattern_problem("refs/heads/x") and tag_pattern_problem("v 1")
    assert tag_pattern_problem("v*") is None
    assert other_ref_problem("refs/heads/*") and other_ref_problem("refs/*") and other_ref_problem("notes/*")
    assert other_ref_problem("refs/for/*") is None
