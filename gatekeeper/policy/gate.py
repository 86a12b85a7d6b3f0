"""The gate for an update of a protected ref (SPEC §2).

Steps, in the order the spec gives them:
  (1) deletion of a protected ref is refused; (2) a non-fast-forward update is refused;
  (3) creation is allowed only as an exact copy of another protected branch, or — when the repo has
      no protected branch yet — like an update from the empty tree;
  (4) files whose categories need no approval are allowed (and logged);
  (5) the remaining per-file changes must be partitioned exactly into the patches of approved, not
      yet deployed CRs for this target, each CR included whole.
Emergency pushes are decided in ``emergency.py`` and, when allowed, pass every step.

Refs other than branches (SPEC §12 "Refs", ``tag`` below): a protected tag is created only on a
commit a protected branch already holds and is never moved or deleted (break-glass aside); a ref
outside ``refs/heads/`` and ``refs/tags/`` that ``other_refs`` does not list is refused.

``decide`` is the one place these steps run: a function of values (the update, the candidate CRs
with their approvals and the memberships looked up for them, the emergency decision, the pusher's
canonical identity) returning a ``Decision``. ``actions/push.py`` gathers the inputs, calls it and
records the result as a deploy intent; post-receive reads the intent and never decides again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gatekeeper.policy import refs
from gatekeeper.policy.approvals import describe_missing
from gatekeeper.policy.categories import classify
from gatekeeper.policy.emergency import NOT_REQUESTED, EmergencyDecision
from gatekeeper.policy.fingerprint import FileChange
from gatekeeper.policy.paths import malformed
from gatekeeper.policy.people import Identity
from gatekeeper.policy.reasons import Code, Reason, messages, primary, reason
from gatekeeper.policy.review import ChangeFacts, review
from gatekeeper.policy.rules import Category, merge_rules
from gatekeeper.policy.states import DEPLOYABLE

MAX_SEARCH_STEPS = 20_000


@dataclass(frozen=True)
class Candidate:
    """An open CR for this target. ``ready`` = approved, approvals re-checked, no error findings."""

    id: int
    url: str
    patch: frozenset[FileChange]
    ready: bool
    problems: tuple[Reason, ...] = ()
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
            ref: str, topic_hint: str) -> Reason:
    """One refusal line for one blocking file: ref, file, category, what is missing, where to go."""
    exact = [c for c in candidates if fc in c.patch]
    head = f"refusing {ref}: {fc.path} ({categories})"
    if exact:
        c = exact[0]
        if c.ready:
            return reason(Code.GATE_NOT_WHOLE, f"{head}: approved in CR {c.id}, but the push does not deploy that CR "
                                               f"whole; {c.url}")
        why = "; ".join(messages(c.problems)) or "not approved"
        first = primary(c.problems)
        return Reason(first.code if first else Code.CHANGE_NOT_APPROVED, f"{head} {why}; {c.url}")
    same_path = [c for c in candidates if any(p.path == fc.path for p in c.patch)]
    if same_path:
        c = same_path[0]
        return reason(Code.GATE_CONTENT_DIFFERS, f"{head}: content differs from what CR {c.id} covers (rebase or push "
                                                 f"the topic branch again for a new revision); {c.url}")
    need = f" needs {missing_text}" if missing_text else " needs approval"
    return reason(Code.GATE_UNAPPROVED_FILE, f"{head}{need}: no change request covers it; open one with {topic_hint}")


# --- the decision for one protected ref update ---------------------------------------------------

@dataclass(frozen=True)
class CandidateFacts:
    """An open CR touching a path of the push: its facts, and what only the gate asks about it."""

    change: ChangeFacts
    url: str
    patch: frozenset[FileChange]
    claimed_by: int | None = None                             # an open deploy intent already deploys it
    ticket_problems: tuple[Reason, ...] = ()                  # the ITSM's answer about the CR's ticket
    ticket_state: str = ""


def assess(f: CandidateFacts) -> Candidate:
    """Re-check a CR's approvals with the memberships looked up now (SPEC §3, "again at the gate")."""
    c = f.change
    current = review(c)
    problems: list[Reason] = []
    if c.errors:
        e = c.errors[0]
        problems.append(reason(Code.CHANGE_VALIDATION_ERRORS, f"has {len(c.errors)} validation error(s), first: "
                               f"{e.get('path')} {e.get('location')}: {e.get('message')}"))
    problems.extend(c.blocking)
    if current.missing:
        problems.append(reason(Code.APPROVAL_MISSING, "lacks " + describe_missing(current.missing)))
    problems.extend(r for r in current.findings if r not in c.visible)
    problems.extend(f.ticket_problems)
    if c.state != DEPLOYABLE and not problems:
        problems.append(reason(Code.CHANGE_NOT_APPROVED, f"change request {c.id} is {c.state}"))
    if f.claimed_by is not None:
        problems.append(reason(Code.GATE_BEING_DEPLOYED, f"change request {c.id} is being deployed by another push "
                                                         f"(deploy intent {f.claimed_by})"))
    counted: tuple[dict[str, object], ...] = tuple({"username": s.username, "group": s.group,
                     "memberships": [m.to_dict() for m in c.signers.get(s.username, (None, ()))[1]
                                     if m.group == s.group]} for s in current.slots)
    return Candidate(id=c.id, url=f.url, patch=f.patch, ready=not problems, problems=tuple(problems),
                     approvals=counted, revision=c.revision, revision_id=c.revision_id,
                     fingerprint=c.fingerprint, state=c.state, ticket_state=f.ticket_state)


@dataclass(frozen=True)
class UpdateFacts:
    """One protected ref update as the hook computed it (``changes``: ``old`` tree vs ``new`` tree);
    ``protected_by``: the repo's patterns that protect the ref."""

    ref: str
    old: str
    new: str
    changes: frozenset[FileChange] = frozenset()
    fast_forward: bool | None = None
    copy_of: tuple[str, ...] = ()
    protected_exists: bool = True
    protected_by: tuple[str, ...] = ()
    rule: str = refs.PROTECTED_BRANCH      # policy.refs: which rule the ref falls under
    peeled: str | None = None              # a tag: the commit it names (None: it names no commit)
    held_by: tuple[str, ...] = ()          # a tag: the protected branches whose history holds ``peeled``

    @property
    def deleted(self) -> bool:
        return refs.deleted(self.new)

    @property
    def created(self) -> bool:
        return refs.created(self.old)


@dataclass(frozen=True)
class PushFacts:
    """What holds for every update of one push: who pushed (resolved once: a directory user or an
    explicit unknown, ``people.Identity``), the policy's categories, and the break-glass decision."""

    pusher: Identity
    categories: tuple[Category, ...]
    pusher_env: tuple[str, ...] = ()
    emergency: EmergencyDecision = NOT_REQUESTED


@dataclass(frozen=True)
class Decision:
    """The gate's answer for one update. ``action``: refused | deploy | copy | no-approval | emergency | tag."""

    allow: bool
    reasons: tuple[Reason, ...]
    action: str = "refused"
    deploys: tuple[Candidate, ...] = ()
    unapproved_ok: tuple[str, ...] = ()
    emergency: EmergencyDecision = field(default=NOT_REQUESTED)

    @property
    def messages(self) -> tuple[str, ...]:
        return messages(self.reasons)


def refuse(*reasons: Reason) -> Decision:
    return Decision(False, tuple(reasons))


def decide(u: UpdateFacts, push: PushFacts, candidates: Sequence[Candidate]) -> Decision:
    """SPEC §2 steps (1)–(5) and the emergency option for one update of a protected ref.

    Before them: a pusher the directory knows (SoD cannot compare anyone else; fail closed) and no
    malformed path (``..``, ``.git``, … whatever git's fsck said), under break-glass too.
    """
    refused = _inadmissible(u, push)
    if refused is not None:
        return refused
    emergency, patterns = push.emergency, ", ".join(u.protected_by) or "the policy"
    if emergency.requested:
        if not emergency.allowed:
            return refuse(emergency.refusal(u.ref))
        return Decision(True, (reason(Code.GATE_EMERGENCY, f"{u.ref}: EMERGENCY change by {push.pusher.name} passes "
                                                           f"the gate ({emergency.text})"),),
                        action="emergency", emergency=emergency)
    if u.rule == refs.PROTECTED_TAG:
        return tag(u, patterns)
    history = _history(u, patterns)
    return history if history is not None else _content(u, push.categories, candidates)


def _inadmissible(u: UpdateFacts, push: PushFacts) -> Decision | None:
    """The refusal before any step (None: go on): a ref outside the allowed namespaces, no pusher or one
    the directory does not know, a malformed path."""
    ref, who = u.ref, push.pusher
    if u.rule == refs.UNLISTED:
        return refuse(reason(Code.GATE_REF_NOT_ALLOWED, f"refusing {ref}: refs outside refs/heads/ and refs/tags/ are "
                             "refused unless the repository's other_refs lists them (ask your Gatekeeper "
                             "administrator)"))
    if not who.name:
        return refuse(reason(Code.GATE_NO_PUSHER, f"refusing {ref}: no pusher identity; the git server must set one "
                             f"of {', '.join(push.pusher_env)} (for a local push: export GATEKEEPER_USER=<your "
                             "username>)"))
    if not who.known:
        return refuse(reason(Code.GATE_UNKNOWN_PUSHER, f"refusing {ref}: pusher {who.name!r} is not a directory "
                             "user; the git server must pass the pusher's directory username"))
    bad = malformed({fc.path for fc in u.changes})
    if bad:
        return refuse(*(reason(Code.PATH_MALFORMED, f"refusing {ref}: {b}") for b in bad))
    return None


def _history(u: UpdateFacts, patterns: str) -> Decision | None:
    """Steps (1)–(3), the branch's history: no deletion, no rewrite, creation only as an exact copy.
    None: the update goes on to the content steps."""
    ref = u.ref
    if u.deleted:  # (1)
        return refuse(reason(Code.GATE_DELETE_PROTECTED, f"refusing {ref}: deleting a protected branch is not allowed "
                             f"(protected by {patterns}; its history is the record of what was deployed)"))
    if u.created:  # (3)
        if u.copy_of:
            return Decision(True, (reason(Code.GATE_COPY, f"{ref}: created as an exact copy of {u.copy_of[0]}"),),
                            action="copy")
        if u.protected_exists:
            return refuse(reason(Code.GATE_NOT_A_COPY, f"refusing {ref}: it would be a new protected branch (it "
                                 f"matches {patterns}), and a new protected branch must start as an exact copy of an "
                                 "existing one: push that branch's commit first (git push origin main:<branch>), then "
                                 "bring changes through change requests"))
    elif u.fast_forward is False:  # (2)
        return refuse(reason(Code.GATE_NON_FAST_FORWARD, f"refusing {ref}: non-fast-forward update of a protected "
                             "branch (history may not be rewritten); merge or rebase on top of it instead"))
    return None


def _content(u: UpdateFacts, categories: Sequence[Category], candidates: Sequence[Candidate]) -> Decision:
    """Steps (4) and (5): files that need no approval pass (logged); the rest must be partitioned into
    whole approved CRs, else one refusal line per blocking file."""
    ref = u.ref
    cats = {fc: classify(fc.path, categories) for fc in u.changes}
    free = sorted(fc for fc in u.changes if not merge_rules(cats[fc]))
    needed = frozenset(fc for fc in u.changes if merge_rules(cats[fc]))
    chosen = partition(needed, u.changes, candidates) if needed else []
    free_reasons = tuple(reason(Code.GATE_NO_APPROVAL_NEEDED, f"{fc.path} ({', '.join(c.name for c in cats[fc])}): "
                                "no approval needed; logged") for fc in free)
    if chosen is not None:
        deploys = tuple(reason(Code.GATE_DEPLOY, f"{ref}: deploys change request {c.id} ({c.url})") for c in chosen)
        return Decision(True, deploys + free_reasons, action="deploy" if chosen else "no-approval",
                        deploys=tuple(chosen), unapproved_ok=tuple(fc.path for fc in free))
    topic_hint = f"git push origin HEAD:refs/heads/<topic> -o gatekeeper.target={refs.branch_name(ref) or ''}"
    covered = {fc for c in candidates if c.ready and c.patch <= u.changes for fc in c.patch}
    blocking = sorted(needed - covered) or sorted(needed)
    lines = [explain(fc, ", ".join(c.name for c in cats[fc]),
                     describe_missing([(r.group, r.count) for r in merge_rules(cats[fc])]),
                     candidates, ref, topic_hint) for fc in blocking]
    if not (needed - covered):
        lines.insert(0, reason(Code.GATE_OVERLAP, f"refusing {ref}: the approved change requests overlap or are not "
                               "included whole; deploy each one whole, one push at a time (a later one that touches "
                               "the same files must be rebased and approved again)"))
    return refuse(*lines)


def tag(u: UpdateFacts, patterns: str) -> Decision:
    """A protected tag (SPEC §12): created only on a commit a protected branch already holds (the tag
    then names approved, deployed content: deployment tools install from tags); never moved or deleted."""
    ref = u.ref
    if u.deleted:
        return refuse(reason(Code.GATE_TAG_DELETED, f"refusing {ref}: deleting a protected tag is not allowed "
                             f"(protected by {patterns}; deployment tools may install from it)"))
    if not u.created:
        return refuse(reason(Code.GATE_TAG_MOVED, f"refusing {ref}: moving a protected tag is not allowed (protected "
                             f"by {patterns}); create a new tag instead"))
    if not u.peeled:
        return refuse(reason(Code.GATE_TAG_NOT_A_COMMIT, f"refusing {ref}: a protected tag must name a commit"))
    if not u.held_by:
        return refuse(reason(Code.GATE_TAG_NOT_HELD, f"refusing {ref}: commit {u.peeled[:12]} is on no protected "
                             "branch; a protected tag may only name content a protected branch already holds "
                             "(deploy it through a change request first)"))
    return Decision(True, (reason(Code.GATE_TAG, f"{ref}: created on {u.peeled[:12]}, which {u.held_by[0]} "
                                                 "holds"),), action="tag")
