from __future__ import annotations

from gatekeeper.config import ApprovalRule, Category
from gatekeeper.directory.base import Membership, User
from gatekeeper.policy import sod

CAROL = User("carol", "Carol Lead", "carol@plant.example")
BOB = User("bob", "Bob Controller", "bob@plant.example")
RULES = (ApprovalRule("finance", 1), ApprovalRule("leads", 1))
PEOPLE = [sod.Person("pusher", username="alice"), sod.Person("author", email="Alice@Plant.Example"),
          sod.Person("committer", email="alice@plant.example"), sod.Person("co-author", email="x@ext.example")]


def m(*groups: str) -> list[Membership]:
    return [Membership(g, (g,)) for g in groups]


def test_independent_member_fills_the_open_slot() -> None:
    check = sod.check_signer(CAROL, m("leads", "finance"), PEOPLE, {}, RULES, [sod.Slot("bob", "finance")])
    assert check.allowed and check.group == "leads"


def test_author_by_email_mapping_cannot_sign() -> None:
    check = sod.check_signer(CAROL, m("leads"), PEOPLE, {"x@ext.example": "carol"}, RULES, [])
    assert not check.allowed and "as co-author" in check.findings[0]


def test_one_person_one_slot() -> None:
    check = sod.check_signer(CAROL, m("leads", "finance"), PEOPLE, {}, RULES, [sod.Slot("carol", "leads")])
    assert not check.allowed and any("one person, one slot" in f for f in check.findings)


def test_not_in_group_and_full_slots() -> None:
    assert "not in an approving group" in sod.check_signer(BOB, m("other"), PEOPLE, {}, RULES, []).findings[0]
    full = sod.check_signer(BOB, m("finance"), PEOPLE, {}, RULES, [sod.Slot("dan", "finance")])
    assert not full.allowed and "already filled" in full.findings[0]


def test_recheck_drops_approvals_of_people_who_left_the_group() -> None:
    given = [sod.GivenApproval("carol", "leads"), sod.GivenApproval("bob", "finance")]
    signers = {"carol": (CAROL, m("leads")), "bob": (BOB, m())}
    slots, findings = sod.recheck(given, signers, PEOPLE, {}, RULES)
    assert slots == [sod.Slot("carol", "leads")]
    assert findings == ["approval by bob no longer counts: not in finance any more"]
    assert sod.missing(RULES, slots) == [("finance", 1)]


def test_unauthorized_author() -> None:
    cats = [Category("erp", ("erp/**",), RULES, authors=("engineers",))]
    assert sod.author_findings("mallory", m("visitors"), cats) == [
        "unauthorized author: mallory is not in engineers (authors of erp)"]
    assert sod.author_findings("alice", m("engineers"), cats) == []


def test_signing_blockers_one_answer_for_every_caller() -> None:
    common = dict(memberships=m("leads", "finance"), people=PEOPLE, email_to_user={}, rules=RULES, filled=[])
    ok = sod.signing_blockers(state="pending", errors=0, author_findings=[], signer=CAROL, **common)  # type: ignore[arg-type]
    assert ok.may_approve and ok.may_reject and ok.approve.group == "finance" and ok.reasons() == []
    closed = sod.signing_blockers(state="deployed", errors=0, author_findings=[], signer=CAROL, **common)  # type: ignore[arg-type]
    assert not closed.may_approve and not closed.may_reject and "is deployed" in closed.reasons("reject")[0]
    broken = sod.signing_blockers(state="pending", errors=2, author_findings=["unauthorized author: x"],
                                  signer=CAROL, **common)  # type: ignore[arg-type]
    assert not broken.may_approve and broken.may_reject  # a broken change can still be rejected
    assert "2 validation error(s)" in broken.reasons()[0]
    assert broken.reasons()[1] == "unauthorized author: x; the change cannot be approved"
    alice = User("alice", "Alice", "alice@plant.example")
    mine = sod.signing_blockers(state="pending", errors=0, author_findings=[], signer=alice, **common)  # type: ignore[arg-type]
    assert not mine.may_approve and "took part" in mine.reasons()[0]


def test_identity_findings_block_unknown_pushers_and_show_unknown_co_authors() -> None:
    blocking, visible = sod.identity_findings(PEOPLE, {"alice": "alice", "Ghost": None}, {})
    assert blocking == [sod.unknown_pusher("Ghost")]
    assert len(visible) == 1 and "'x@ext.example'" in visible[0]
    assert sod.identity_findings(PEOPLE, {"alice": "alice"}, {"x@ext.example": "xavier"}) == ([], [])
