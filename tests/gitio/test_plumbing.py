"""gitio.plumbing against real repos: whole ranges streamed, git's trailer parser, trees, blobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.gitio import plumbing
from tests.support.git import ALICE, crafted_tree_commit, fast_import_chain, git, init_work, no_git_env


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return init_work(tmp_path / "work", "hello\n")


def commit_with(work: Path, message: str) -> str:
    git(work, "commit", "-q", "--allow-empty", "-m", message, env=no_git_env(ALICE))
    return git(work, "rev-parse", "HEAD")


def test_whole_range_past_5000_commits(work: Path) -> None:
    base = git(work, "rev-parse", "HEAD")
    people = [("Carol Lead", "carol@plant.example")] + [("Alice", "alice@plant.example")] * 6499
    tip = fast_import_chain(work, "topic", people)
    seen = list(plumbing.iter_commits([tip, f"^{base}"], cwd=str(work)))
    assert len(seen) == 6500
    assert seen[-1]["author_email"] == "carol@plant.example"  # the oldest one is not cut off
    assert len(plumbing.commits([tip, f"^{base}"], cwd=str(work))) == 6500


def test_unknown_revision_is_an_error_not_an_empty_range(work: Path) -> None:
    with pytest.raises(plumbing.GitError):
        plumbing.commits(["0123456789abcdef0123456789abcdef01234567"], cwd=str(work))


@pytest.mark.parametrize(("trailers", "expected"), [
    ("Co-authored-by: Carol <carol@plant.example> (pairing)", ["carol@plant.example"]),
    ("co-authored-BY: carol@plant.example", ["carol@plant.example"]),
    ("Co-authored-by: Carol Lead\n <carol@plant.example>", ["carol@plant.example"]),  # folded value
    ("Co-authored-by: Carol <carol@plant.example>, Dave <dave@plant.example>",
     ["carol@plant.example", "dave@plant.example"]),
    ("Signed-off-by: Alice <alice@plant.example>\nCo-authored-by: <mailto:carol@plant.example>",
     ["carol@plant.example"]),
    ("Co-authored-by: Carol from night shift", ["Carol from night shift"]),  # kept: nobody can match it
])
def test_co_authors_read_by_gits_trailer_parser(work: Path, trailers: str, expected: list[str]) -> None:
    sha = commit_with(work, f"subject\n\nbody text\n\n{trailers}\n")
    (commit,) = plumbing.commits([sha, f"^{sha}~1"], cwd=str(work))
    assert commit["co_authors"] == expected


def test_co_author_line_outside_the_trailer_block_is_not_a_trailer(work: Path) -> None:
    sha = commit_with(work, "subject\n\nCo-authored-by: carol@plant.example\nis what we used to write\n\n"
                            "Reviewed-by: x")
    (commit,) = plumbing.commits([sha, f"^{sha}~1"], cwd=str(work))
    assert commit["co_authors"] == []  # git interpret-trailers --parse agrees


def test_diff_tree_and_ls_tree_keep_crafted_paths_as_written(work: Path) -> None:
    head = git(work, "rev-parse", "HEAD")
    crafted = crafted_tree_commit(work, "docs/../tags/x", parent=head)
    changes = plumbing.diff_tree(plumbing.empty_tree(str(work)), crafted, cwd=str(work))
    assert [c.path for c in changes] == ["docs/../tags/x"]
    assert [p for _, _, p in plumbing.ls_tree(crafted, cwd=str(work))] == ["docs/../tags/x"]


def test_read_blobs_sizes_all_and_reads_only_small_ones(work: Path) -> None:
    (work / "big.bin").write_bytes(b"b" * 5000)
    (work / "small.txt").write_text("s\n")
    git(work, "add", "-A")
    sha = commit_with(work, "files")
    blobs = {p: s for _, s, p in plumbing.ls_tree(sha, cwd=str(work))}
    data, sizes = plumbing.read_blobs([blobs["big.bin"], blobs["small.txt"], "0" * 40], 100, cwd=str(work))
    assert data == {blobs["small.txt"]: b"s\n"} and sizes[blobs["big.bin"]] == 5000


def test_merge_base_ancestry_and_tips(work: Path) -> None:
    root = git(work, "rev-parse", "HEAD")
    tip = commit_with(work, "next")
    assert plumbing.is_ancestor(root, tip, cwd=str(work)) and not plumbing.is_ancestor(tip, root, cwd=str(work))
    assert plumbing.merge_base(root, tip, cwd=str(work)) == root
    assert plumbing.branch_tips(cwd=str(work)) == {"refs/heads/main": tip}
