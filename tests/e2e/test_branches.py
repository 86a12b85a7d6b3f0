"""Branch protection through real pushes: patterns match the whole branch name, ``release/*`` covers
everything under ``release/`` (issue 17), and the hook's baked policy agrees with the service."""

from __future__ import annotations

import pytest

from tests.e2e.test_flow import bootstrap, open_cr
from tests.support.git import Repo, git
from tests.support.service import Service

pytestmark = pytest.mark.e2e


def test_release_star_protects_nested_release_branches(repo: Repo, service: Service) -> None:
    bootstrap(repo, service)
    # Creating release/2026/q1 is allowed only as an exact copy of a protected branch...
    r = repo.push("main:refs/heads/release/2026/q1")
    assert r.ok, r.stderr
    assert "refs/heads/release/2026/q1: created as an exact copy of refs/heads/main" in r.text()
    # ...and an unapproved ERP mapping change pushed there is refused (it was accepted before: fail open).
    git(repo.work, "checkout", "-q", "-b", "q1", "main")
    repo.commit({"erp/postings.txt": "FT-204 kg\n"}, "unapproved mapping")
    r = repo.push("HEAD:refs/heads/release/2026/q1")
    assert not r.ok
    assert any(ln.startswith("refusing refs/heads/release/2026/q1: erp/postings.txt (erp-mapping)")
               for ln in r.lines), r.lines
    # A case variant is the same protected branch (one ref file on a case-insensitive file system).
    r = repo.push("HEAD:refs/heads/RELEASE/2026/q2")
    assert not r.ok and r.lines[0].startswith("refusing refs/heads/RELEASE/2026/q2: it would be a new protected "
                                              "branch (it matches release/*), and a new protected branch must "
                                              "start as an exact copy of an existing one"), r.lines
    r = repo.push("HEAD:refs/heads/MAIN")
    assert not r.ok and "it would be a new protected branch (it matches main)" in r.text(), r.lines
    # The approved way: a CR aimed at the nested release branch, approved, then deployed there.
    r = repo.push("HEAD:refs/heads/q1-mapping", options=("gatekeeper.target=refs/heads/release/2026/q1",))
    assert r.ok, r.stderr
    cid = r.change_id()
    assert "-> release/2026/q1" in r.text(), r.lines
    assert service.sign(cid, "bob").status_code == 201
    assert service.sign(cid, "carol").status_code == 201
    r = repo.push("HEAD:refs/heads/release/2026/q1")
    assert r.ok, r.stderr
    assert f"change request {cid} deployed" in r.text(), r.lines


def test_a_topic_branch_named_like_a_protected_one_is_a_topic(repo: Repo, service: Service) -> None:
    bootstrap(repo, service)
    for topic in ("fix/main", "feature/release/1"):
        git(repo.work, "checkout", "-q", "-B", "work", "main")
        repo.commit({f"cfg/{topic.replace('/', '-')}.txt": "x\n"}, f"work on {topic}")
        r = repo.push(f"HEAD:refs/heads/{topic}")
        assert r.ok, r.stderr
        assert f"refs/heads/{topic} -> main" in r.text(), r.lines  # a CR was opened: it is a topic branch
        assert "protected" not in r.text(), r.lines
    cid = open_cr(repo, {"docs/x.md": "# x\n"}, "docs-only")
    assert cid > 0


@pytest.mark.parametrize(("protected", "message"), [
    ('["main", "rel[0-9"]', "repos[plant-a-ot].protected: unterminated character class in 'rel[0-9'"),
    ('"main"', "repos[plant-a-ot].protected: must be a list, not str"),
    ("[]", "repos[plant-a-ot].protected: must name at least one branch or pattern"),
])
def test_an_unreadable_protection_pattern_makes_the_hook_refuse(repo: Repo, protected: str, message: str) -> None:
    """The policy edited after install-hooks (the baked view no longer applies): the hook reads the file with
    the service's own loader, and protection it cannot read refuses branch pushes instead of protecting nothing."""
    text = repo.plant.config.read_text()
    repo.plant.config.write_text(text.replace('protected = ["main", "release/*"]', f"protected = {protected}"))
    repo.commit({"cfg/a.txt": "a\n"})
    r = repo.push("HEAD:refs/heads/rel1")
    assert not r.ok
    assert any(message in ln for ln in r.lines), r.lines
