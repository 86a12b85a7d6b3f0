from __future__ import annotations

from gatekeeper.policy.fingerprint import FileChange
from gatekeeper.policy.gate import Candidate, partition


def fc(path: str, new: str = "b") -> FileChange:
    return FileChange(path, "a" * 40, new * 40, "100644", "100644")


def cand(i: int, *changes: FileChange, ready: bool = True) -> Candidate:
    return Candidate(i, f"u/{i}", frozenset(changes), ready)


def test_exact_partition_uses_whole_crs() -> None:
    x, y, z = fc("x"), fc("y"), fc("z")
    chosen = partition(frozenset({x, y, z}), frozenset({x, y, z}), [cand(1, x, y), cand(2, z), cand(3, y)])
    assert chosen is not None and sorted(c.id for c in chosen) == [1, 2]


def test_a_cr_not_included_whole_does_not_count() -> None:
    x, y = fc("x"), fc("y")
    assert partition(frozenset({x}), frozenset({x}), [cand(1, x, y)]) is None


def test_content_must_match_exactly() -> None:
    assert partition(frozenset({fc("x", "c")}), frozenset({fc("x", "c")}), [cand(1, fc("x"))]) is None


def test_not_ready_crs_are_ignored_and_overlaps_backtrack() -> None:
    x, y, z = fc("x"), fc("y"), fc("z")
    assert partition(frozenset({x}), frozenset({x}), [cand(1, x, ready=False)]) is None
    chosen = partition(frozenset({x, y, z}), frozenset({x, y, z}), [cand(1, x, y), cand(2, y, z), cand(3, z)])
    assert chosen is not None and sorted(c.id for c in chosen) == [1, 3]


def test_cr_may_include_no_approval_files_of_the_push() -> None:
    x, d = fc("x"), fc("docs/d.md")
    chosen = partition(frozenset({x}), frozenset({x, d}), [cand(1, x, d)])
    assert chosen is not None and [c.id for c in chosen] == [1]
