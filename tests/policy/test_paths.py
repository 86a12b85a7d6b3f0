"""policy.paths: the components git's fsck (with NTFS/HFS protection) refuses, refused whatever fsck said."""

from __future__ import annotations

import pytest

from gatekeeper.policy.paths import bad_component, malformed


@pytest.mark.parametrize("path", [
    "docs/../tags/x", "../x", "docs/./x", "docs//x", "/abs", "docs/", ".git/config", "a/.GIT/hooks/pre-receive",
    "a/.git./x", "a/.git /x", "a/.Git::$INDEX_ALLOCATION/x", "a/GIT~1/x", "a/.g\u200cit/x", "a/\ufeff.git/x",
    "docs\\..\\tags\\x", "docs\\.git\\x",
])
def test_refused(path: str) -> None:
    assert bad_component(path) is not None
    assert repr(path) in malformed([path, "docs/ok.md"])[0] and len(malformed([path, "docs/ok.md"])) == 1


@pytest.mark.parametrize("path", [
    "docs/readme.md", "tags/ignition/area1.json", ".gitignore", ".github/workflows/x.yml", "a/.git-keep",
    "a/git~2/x", "a/...x", "recipes/Batch.v2.xml", "a/.gitmodules",
])
def test_ordinary_paths_pass(path: str) -> None:
    assert bad_component(path) is None and malformed([path]) == []
