"""The gate's pure decisions (SPEC §2): partition, candidate assessment, and decide() step by step."""

from __future__ import annotations

import pytest

from gatekeeper.policy import emergency, gate, sod
from gatekeeper.policy.approvals import Signature
from gatekeeper.policy.emergency import NOT_REQUESTED, EmergencyDecision
from gatekeeper.policy.fingerprint import FileChange
from gatekeeper.policy.gate import Candidate, partition
from gatekeeper.policy.people import Identity, Membership, User, known, unknown
from gatekeeper.policy.review import ChangeFacts
from gatekeeper.policy.rules import ApprovalRule, Category


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


# --- decide(): SPEC §2 steps and the emergency option, from values ---------------------------------

LEADS = ApprovalRule("leads", 1)
CATS = (Category("recipes", ("recipes/**",), (LEADS,)), Category("docs", ("docs/**",), ()),
        Category("default", (), (LEADS,)))
OLD, NEW, NULL = "1" * 40, "2" * 40, "0" * 40
CAROL = User("carol", "Carol", "carol@x")
IN_LEADS = (Membership("leads", ("leads",)),)


def facts(cid: int, *patch: FileChange, state: str = "approved", signers: dict[str, object] | None = None,
          given: tuple[Signature, ...] = (Signature("carol", "leads"),),
          people: tuple[sod.Person, ...] = (sod.Person("pusher", known(User("alice", "Alice", "alice@x"))),),
          claimed_by: int | None = None, errors: tuple[dict[str, str], ...] = ()) -> gate.CandidateFacts:
    change = ChangeFacts(
        id=cid, state=state, revision=2, revision_id=20 + cid, fingerprint=f"fp{cid}", rules=(LEADS,), given=given,
        signers=signers if signers is not None else {"carol": (CAROL, IN_LEADS)},  # type: ignore[arg-type]
        people=people, errors=errors)
    return gate.CandidateFacts(change=change, url=f"u/{cid}", patch=frozenset(patch), claimed_by=claimed_by)


def upd(*changes: FileChange, old: str = OLD, new: str = NEW, **kw: object) -> gate.UpdateFacts:
    return gate.UpdateFacts("refs/heads/main", old, new, frozenset(changes), **kw)  # type: ignore[arg-type]


def decide(u: gate.UpdateFacts, *, pusher: str | None = "alice", candidates: list[Candidate] | None = None,
           emergency: EmergencyDecision = NOT_REQUESTED, pusher_env: tuple[str, ...] = ()) -> gate.Decision:
    who = known(User(pusher, pusher, f"{pusher}@x")) if pusher else unknown()
    push = gate.PushFacts(pusher=who, categories=CATS, pusher_env=pusher_env, emergency=emergency)
    return gate.decide(u, push, candidates or [])


def test_an_approved_cr_whose_approvals_still_count_is_deployed_with_what_counted() -> None:
    x = fc("recipes/a.xml")
    cand = gate.assess(facts(1, x))
    d = decide(upd(x, fast_forward=True), pusher="alice", candidates=[cand])
    assert d.allow and d.action == "deploy" and [c.id for c in d.deploys] == [1]
    c = d.deploys[0]
    assert (c.revision, c.revision_id, c.fingerprint) == (2, 21, "fp1")
    assert c.approvals == ({"username": "carol", "group": "leads",
                            "memberships": [{"group": "leads", "via": ["leads"], "dn": None}]},)


@pytest.mark.parametrize(("kw", "problem", "code"), [
    ({"signers": {"carol": (CAROL, ())}}, "approval by carol no longer counts: not in leads any more",
     "sod.not_in_group"),
    ({"signers": {"carol": (None, ())}}, "approval by carol no longer counts: user not found in the directory",
     "sod.unknown_signer"),
    ({"people": (sod.Person("author", Identity("carol@x", CAROL)),)},
     "does not count: took part in the change (author)", "sod.self"),
    ({"given": ()}, "lacks 1 approval by leads", "approval.missing"),
    ({"state": "pending", "given": ()}, "lacks 1 approval by leads", "approval.missing"),
    ({"claimed_by": 9}, "is being deployed by another push (deploy intent 9)", "gate.being_deployed"),
    ({"errors": ({"path": "recipes/a.xml", "location": "l1", "message": "bad"},)}, "has 1 validation error(s)",
     "change.validation_errors"),
])
def test_a_cr_that_no_longer_passes_blocks_with_the_reason(kw: dict[str, object], problem: str, code: str) -> None:
    x = fc("recipes/a.xml")
    cand = gate.assess(facts(1, x, **kw))  # type: ignore[arg-type]
    assert not cand.ready and any(problem in p.message for p in cand.problems), cand.problems
    d = decide(upd(x, fast_forward=True), pusher="alice", candidates=[cand])
    assert not d.allow and d.action == "refused" and problem in d.messages[0] and "u/1" in d.messages[0]
    assert d.reasons[0].code == code  # the refusal is counted by its most telling reason (policy.reasons)


def test_steps_in_order() -> None:
    x = fc("recipes/a.xml")
    ready = [gate.assess(facts(1, x))]
    no_pusher = decide(upd(x), pusher=None, candidates=ready, pusher_env=("GATEKEEPER_USER",))
    assert not no_pusher.allow and "no pusher identity" in no_pusher.messages[0] and "GATEKEEPER_USER" in \
        no_pusher.messages[0]
    deleted = decide(upd(new=NULL), pusher="a", candidates=ready)
    assert "deleting a protected branch" in deleted.messages[0] and deleted.reasons[0].code == "gate.delete_protected"
    rewound = decide(upd(x, fast_forward=False), pusher="a", candidates=ready)
    assert "non-fast-forward" in rewound.messages[0] and rewound.reasons[0].code == "gate.non_fast_forward"
    copy = decide(upd(old=NULL, copy_of=("refs/heads/release/1",)), pusher="a", candidates=[])
    assert copy.allow and copy.action == "copy"
    assert not decide(upd(x, old=NULL), pusher="a", candidates=ready).allow
    boot = decide(upd(x, old=NULL, protected_exists=False), pusher="a", candidates=ready)
    assert boot.allow and [c.id for c in boot.deploys] == [1]


def test_files_needing_no_approval_pass_and_are_named() -> None:
    d = decide(upd(fc("docs/a.md"), fast_forward=True), pusher="a", candidates=[])
    assert d.allow and d.action == "no-approval" and d.unapproved_ok == ("docs/a.md",)


def test_emergency_passes_every_step_only_when_allowed() -> None:
    ok = emergency.decide("line 3 down", ["oncall"], "erin", [Membership("oncall", ("oncall",))])
    d = decide(upd(new=NULL), pusher="erin", candidates=[], emergency=ok)
    assert d.allow and d.action == "emergency" and d.emergency.text == "line 3 down"
    no = emergency.decide("line 3 down", ["oncall"], "mallory", [])
    d = decide(upd(fc("recipes/a.xml"), fast_forward=True), pusher="mallory",
                    candidates=[gate.assess(facts(1, fc("recipes/a.xml")))], emergency=no)
    assert not d.allow and "may not push emergency changes" in d.messages[0]


def test_a_cr_is_deployed_only_whole_and_only_with_its_exact_content() -> None:
    x, y = fc("recipes/a.xml"), fc("recipes/b.xml")
    whole = gate.assess(facts(1, x, y))
    d = decide(upd(x, fast_forward=True), pusher="a", candidates=[whole])
    assert not d.allow and "approved in CR 1, but the push does not deploy that CR whole" in d.messages[0]
    d = decide(upd(fc("recipes/a.xml", "c"), fast_forward=True), pusher="a",
                    candidates=[gate.assess(facts(1, x))])
    assert not d.allow and "content differs from what CR 1 covers" in d.messages[0]


def tag_upd(old: str = NULL, new: str = NEW, **kw: object) -> gate.UpdateFacts:
    return gate.UpdateFacts("refs/tags/v1.0", old, new, frozenset(), rule="protected-tag", **kw)  # type: ignore[arg-type]


def test_a_protected_tag_is_created_only_on_content_a_protected_branch_holds() -> None:
    """Issue 22 item 3 (SPEC §12 "Refs"): created, never moved or deleted (break-glass aside)."""
    held = decide(tag_upd(peeled=NEW, held_by=("refs/heads/main",)))
    assert held.allow and held.action == "tag" and held.reasons[0].code == "gate.tag"
    cases = {"gate.tag_not_held": tag_upd(peeled=NEW), "gate.tag_not_a_commit": tag_upd(),
             "gate.tag_moved": tag_upd(old=OLD, peeled=NEW, held_by=("refs/heads/main",)),
             "gate.tag_deleted": tag_upd(old=OLD, new=NULL)}
    for code, u in cases.items():
        d = decide(u)
        assert not d.allow and d.reasons[0].code == code, (code, d.messages)
    ok = emergency.decide("bad tag", ["oncall"], "erin", [Membership("oncall", ("oncall",))])
    assert decide(tag_upd(old=OLD, new=NULL), pusher="erin", emergency=ok).action == "emergency"


def test_a_ref_no_rule_lists_is_refused_before_anything_else() -> None:
    u = gate.UpdateFacts("refs/notes/commits", OLD, NEW, frozenset(), rule="unlisted")
    d = decide(u, pusher=None)
    assert not d.allow and d.reasons[0].code == "gate.ref_not_allowed" and "other_refs" in d.messages[0]
