"""What a ref update is (``policy.refs``): the null id, creation, deletion, branch names, patterns."""

from __future__ import annotations

import pytest

from gatekeeper.policy.refs import branch_name, created, deleted, is_null, is_pattern

SHA1_NULL, SHA256_NULL = "0" * 40, "0" * 64


def test_the_null_id_in_both_hash_lengths() -> None:
    assert is_null(SHA1_NULL) and is_null(SHA256_NULL)
    assert not is_null("0" * 39 + "1") and not is_null("a" * 40)


def test_created_and_deleted_are_read_off_the_null_side() -> None:
    sha = "1" * 40
    assert created(SHA1_NULL) and not created(sha)
    assert deleted(SHA256_NULL) and not deleted(sha)


@pytest.mark.parametrize(("ref", "name"), [("refs/heads/main", "main"), ("refs/heads/release/1.0", "release/1.0"),
                                           ("refs/tags/v1", None), ("refs/heads", None), ("main", None)])
def test_branch_name(ref: str, name: str | None) -> None:
    assert branch_name(ref) == name


def test_patterns_are_names_with_wildcards() -> None:
    assert is_pattern("release/*") and is_pattern("hotfix-?") and is_pattern("v[12]")
    assert not is_pattern("main") and not is_pattern("release/1.0")
