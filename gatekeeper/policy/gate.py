"""The gate for an update of a protected ref (SPEC §2).

Steps, in the order the spec gives them:
  (1) deletion of a protected ref is refused; (2) a non-fast-forward update is refused;
  (3) creation is allowed only as an exact copy of another protected branch, or — when the repo has
      no protected branch yet — like an update from the empty tree;
  (4) files whose categories need no approval are allowed (and logged);
  (5) the remaining per-file changes must be partitioned exactly into the patches of approved, not
      yet deployed CRs for this target, each CR included whole.
Emergency pushes bypass (3)–(5) but never (1); they are decided in ``emergency.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gatekeeper.policy.fingerprint import FileChange

MAX_SEARCH_STEPS = 20_000


@dataclass(frozen=True)
class Candidate:
    """An open CR for this target. ``ready`` = approved, approvals re-checked, no error findings."""

    id: int
    url: str
    patch: frozenset[FileChange]
    ready: bool
    problems: tuple[str, ...] = ()
    # The approvals that counted at this re-check, with the memberships used (SPEC §3: logged).
    approvals: tuple[dict[str, object], ...] = ()


@dataclass(frozen=True)
class GateResult:
    allow: bool
    messages: tuple[str, ...]
    deployed: tuple[int, ...] = ()               # CR ids the push deploys
    unapproved_ok: tuple[str, ...] = ()          # paths allowed without approval
    approvals: tuple[tuple[int, tuple[dict[str, object], ...]], ...] = ()  # per deployed CR


def partition(needed: frozenset[FileChange], allowed: frozenset[FileChange],
              candidates: Sequence[Candidate]) -> list[Candidate] | None:
    """Disjoint ready CRs covering every needed change exactly once, or None.

    Each CR's patch must lie within the push (``allowed``). Backtracking picks the change with the
    fewest covering CRs first; real pushes have a handful of CRs, and a step limit bounds the rest.
    """
    usable = [c for c in candidates if c.ready and c.patch and c.patch <= allowed]
    steps = 0

    def solve(remaining: frozenset[FileChange], used: frozenset[FileChange]) -> list[Candidate] | None:
        nonlocal steps
        if not remaining:
            return []
        steps += 1
        if steps > MAX_SEARCH_STEPS:
            return None
        options: dict[FileChange, list[Candidate]] = {
            fc: [c for c in usable if fc in c.patch and not (c.patch & used)] for fc in remaining}
        _, covering = min(options.items(), key=lambda kv: (len(kv[1]), kv[0]))
        for cand in sorted(covering, key=lambda c: c.id):
            rest = solve(remaining - cand.patch, used | cand.patch)
            if rest is not None:
                return [cand, *rest]
        return None

    return solve(needed, frozenset())


def explain(fc: FileChange, categories: str, missing_text: str | None, candidates: Sequence[Candidate],
            ref: str, topic_hint: str) -> str:
    """One refusal line for one blocking file: ref, file, category, what is missing, where to go."""
    exact = [c for c in candidates if fc in c.patch]
    head = f"refusing {ref}: {fc.path} ({categories})"
    if exact:
        c = exact[0]
        if c.ready:
            return f"{head}: approved in CR {c.id}, but the push does not deploy that CR whole; {c.url}"
        why = "; ".join(c.problems) or "not approved"
        return f"{head} {why}; {c.url}"
    same_path = [c for c in candidates if any(p.path == fc.path for p in c.patch)]
    if same_path:
        c = same_path[0]
        return (f"{head}: content differs from what CR {c.id} covers (rebase or push the topic branch "
                f"again for a new revision); {c.url}")
    need = f" needs {missing_text}" if missing_text else " needs approval"
    return f"{head}{need}: no change request covers it; open one with {topic_hint}"
