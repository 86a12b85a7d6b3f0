"""The gate for an update of a protected ref (SPEC §2).

Steps, in the order the spec gives them:
  (1) deletion of a protected ref is refused; (2) a non-fast-forward update is refused;
  (3) creation is allowed only as an exact copy of another protected branch, or — when the repo has
      no protected branch yet — like an update from the empty tree;
  (4) files whose categories need no approval are allowed (and logged);
  (5) the remaining per-file changes must be partitioned exactly into the patches of approved, not
      yet deployed CRs for this target, each CR included whole.
Emergency pushes are decided in ``emergency.py`` and, when allowed, pass every step.

``decide`` is the one place these steps run: a function of values (the update, the candidate CRs
with their approvals and the memberships looked up for them, the emergency decision, the pusher's
canonical identity) returning a ``Decision``. ``actions/push.py`` gathers the inputs, calls it and
records the result as a deploy intent; post-receive reads the intent and never decides again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.directory.base import Membership, User
from gatekeeper.policy import sod
from gatekeeper.policy.categories import branch_name, classify, merge_rules
from gatekeeper.policy.emergency import NOT_REQUESTED, EmergencyDecision
from gatekeeper.policy.fingerprint import FileChange
from gatekeeper.policy.paths import malformed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gatekeeper.config import ApprovalRule, Category

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
    revision: int = 0
    revision_id: int = 0
    fingerprint: str = ""
    state: str = ""
    ticket_state: str = ""


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


# --- the decision for one protected ref update ---------------------------------------------------

@dataclass(frozen=True)
class CandidateFacts:
    """What the store and the directory said about one open CR touching a path of the push."""

    id: int
    url: str
    state: str
    revision: int
    revision_id: int
    fingerprint: str
    patch: frozenset[FileChange]
    rules: tuple[ApprovalRule, ...]
    given: tuple[sod.GivenApproval, ...]                      # approvals signed for this fingerprint
    signers: Mapping[str, tuple[User | None, tuple[Membership, ...]]]
    people: tuple[sod.Person, ...]
    emails: Mapping[str, str]                                 # commit email -> directory username
    errors: tuple[Mapping[str, Any], ...] = ()                # validation errors of the revision
    author_findings: tuple[str, ...] = ()
    claimed_by: int | None = None                             # an open deploy intent already deploys it
    ticket_problems: tuple[str, ...] = ()                     # the ITSM's answer about the CR's ticket
    ticket_state: str = ""


def assess(f: CandidateFacts) -> Candidate:
    """Re-check a CR's approvals with the memberships looked up now (SPEC §3, "again at the gate")."""
    slots, findings = sod.recheck(list(f.given), f.signers, f.people, f.emails, f.rules)
    missing = sod.missing(f.rules, slots)
    problems: list[str] = []
    if f.errors:
        e = f.errors[0]
        problems.append(f"has {len(f.errors)} validation error(s), first: {e.get('path')} {e.get('location')}: "
                        f"{e.get('message')}")
    problems.extend(f.author_findings)
    if missing:
        problems.append("lacks " + sod.describe_missing(missing))
    problems.extend(findings)
    problems.extend(f.ticket_problems)
    if f.state != "approved" and not problems:
        problems.append(f"change request {f.id} is {f.state}")
    if f.claimed_by is not None:
        problems.append(f"change request {f.id} is being deployed by another push (deploy intent {f.claimed_by})")
    counted: tuple[dict[str, object], ...] = tuple({"username": s.username, "group": s.group,
                     "memberships": [m.to_dict() for m in f.signers.get(s.username, (None, ()))[1]
                                     if m.group == s.group]} for s in slots)
    return Candidate(id=f.id, url=f.url, patch=f.patch, ready=not problems, problems=tuple(problems),
                     approvals=counted, revision=f.revision, revision_id=f.revision_id,
                     fingerprint=f.fingerprint, state=f.state, ticket_state=f.ticket_state)


@dataclass(frozen=True)
class UpdateFacts:
    """One protected ref update as the hook computed it (``changes``: ``old`` tree vs ``new`` tree)."""

    ref: str
    old: str
    new: str
    changes: frozenset[FileChange] = frozenset()
    fast_forward: bool | None = None
    copy_of: tuple[str, ...] = ()
    protected_exists: bool = True

    @property
    def deleted(self) -> bool:
        return not self.new.strip("0")

    @property
    def created(self) -> bool:
        return not self.old.strip("0")


@dataclass(frozen=True)
class Decision:
    """The gate's answer for one update. ``action``: refused | deploy | copy | no-approval | emergency."""

    allow: bool
    messages: tuple[str, ...]
    action: str = "refused"
    deploys: tuple[Candidate, ...] = ()
    unapproved_ok: tuple[str, ...] = ()
    emergency: EmergencyDecision = field(default=NOT_REQUESTED)


def _refuse(*lines: str) -> Decision:
    return Decision(False, tuple(lines))


def decide(u: UpdateFacts, *, pusher: str | None, categories: Sequence[Category],
           candidates: Sequence[Candidate], emergency: EmergencyDecision = NOT_REQUESTED,
           pusher_env: Sequence[str] = (), pusher_known: bool = True, protected_by: Sequence[str] = ()) -> Decision:
    """SPEC §2 steps (1)–(5) and the emergency option for one update of a protected ref.

    Before them: a pusher the directory knows (SoD cannot compare anyone else; fail closed) and no
    malformed path (``..``, ``.git``, … whatever git's fsck said), under break-glass too.
    """
    ref = u.ref
    if not pusher:
        return _refuse(f"refusing {ref}: no pusher identity; the git server must set one of "
                       f"{', '.join(pusher_env)} (for a local push: export GATEKEEPER_USER=<your username>)")
    if not pusher_known:
        return _refuse(f"refusing {ref}: pusher {pusher!r} is not a directory user; the git server must pass "
                       "the pusher's directory username")
    bad = malformed({fc.path for fc in u.changes})
    if bad:
        return _refuse(*(f"refusing {ref}: {b}" for b in bad))
    patterns = ", ".join(protected_by) or "the policy"
    if emergency.requested:
        if not emergency.allowed:
            return _refuse(f"refusing {ref}: {emergency.text}")
        return Decision(True, (f"{ref}: EMERGENCY change by {pusher} passes the gate ({emergency.text})",),
                        action="emergency", emergency=emergency)
    # (1) deletion
    if u.deleted:
        return _refuse(f"refusing {ref}: deleting a protected branch is not allowed (protected by {patterns}; its "
                       "history is the record of what was deployed)")
    # (3) creation / (2) non-fast-forward
    if u.created:
        if u.copy_of:
            return Decision(True, (f"{ref}: created as an exact copy of {u.copy_of[0]}",), action="copy")
        if u.protected_exists:
            return _refuse(f"refusing {ref}: it would be a new protected branch (it matches {patterns}), and a new "
                           "protected branch must start as an exact copy of an existing one: push that branch's commit "
                           "first (git push origin main:<branch>), then bring changes through change requests")
    elif u.fast_forward is False:
        return _refuse(f"refusing {ref}: non-fast-forward update of a protected branch (history may not be "
                       "rewritten); merge or rebase on top of it instead")
    # (4) files that need no approval, (5) the rest partitioned into whole approved CRs
    cats = {fc: classify(fc.path, categories) for fc in u.changes}
    free = sorted(fc for fc in u.changes if not merge_rules(cats[fc]))
    needed = frozenset(fc for fc in u.changes if merge_rules(cats[fc]))
    chosen = partition(needed, u.changes, candidates) if needed else []
    free_msgs = tuple(f"{fc.path} ({', '.join(c.name for c in cats[fc])}): no approval needed; logged"
                      for fc in free)
    if chosen is not None:
        msgs = tuple(f"{ref}: deploys change request {c.id} ({c.url})" for c in chosen)
        return Decision(True, msgs + free_msgs, action="deploy" if chosen else "no-approval",
                        deploys=tuple(chosen), unapproved_ok=tuple(fc.path for fc in free))
    branch = branch_name(ref) or ""
    topic_hint = f"git push origin HEAD:refs/heads/<topic> -o gatekeeper.target={branch}"
    covered = {fc for c in candidates if c.ready and c.patch <= u.changes for fc in c.patch}
    blocking = sorted(needed - covered) or sorted(needed)
    lines = [explain(fc, ", ".join(c.name for c in cats[fc]),
                     sod.describe_missing([(r.group, r.count) for r in merge_rules(cats[fc])]),
                     candidates, ref, topic_hint) for fc in blocking]
    if not (needed - covered):
        lines.insert(0, f"refusing {ref}: the approved change requests overlap or are not included whole; deploy "
                        "each one whole, one push at a time (a later one that touches the same files must be "
                        "rebased and approved again)")
    return _refuse(*lines)
