from __future__ import annotations

from gatekeeper.ledger.events import Reason
from gatekeeper.policy import sod
from gatekeeper.policy.approvals import GivenApproval, Slot, missing
from gatekeeper.policy.people import Membership, User
from gatekeeper.policy.rules import ApprovalRule, Category

CAROL = User("carol", "Carol Lead", "carol@plant.example")
BOB = User("bob", "Bob Controller", "bob@plant.example")
RULES = (ApprovalRule("finance", 1), ApprovalRule("leads", 1))
PEOPLE = [sod.Person("pusher", username="alice"), sod.Person("author", email="Alice@Plant.Example"),
          sod.Person("committer", email="alice@plant.example"), sod.Person("co-author", email="x@ext.example")]


def m(*groups: str) -> list[Membership]:
    return [Membership(g, (g,)) for g in groups]


def test_independent_member_fills_the_open_slot() -> None:
    check = sod.check_signer(CAROL, m("leads", "finance"), PEOPLE, {}, RULES, [Slot("bob", "finance")])
    assert check.allowed and check.group == "leads"


def test_author_by_email_mapping_cannot_sign() -> None:
    check = sod.check_signer(CAROL, m("leads"), PEOPLE, {"x@ext.example": "carol"}, RULES, [])
    assert not check.allowed and "as co-author" in check.findings[0].message and check.findings[0].code == "sod.self"


def test_one_person_one_slot() -> None:
    check = sod.check_signer(CAROL, m("leads", "finance"), PEOPLE, {}, RULES, [Slot("carol", "leads")])
    assert not check.allowed and any("one person, one slot" in f.message and f.code == "sod.one_slot"
                                     for f in check.findings)


def test_not_in_group_and_full_slots() -> None:
    outside = sod.check_signer(BOB, m("other"), PEOPLE, {}, RULES, []).findings[0]
    assert "not in an approving group" in outside.message and outside.code == "sod.not_in_group"
    full = sod.check_signer(BOB, m("finance"), PEOPLE, {}, RULES, [Slot("dan", "finance")])
    assert not full.allowed and "already filled" in full.findings[0].message
    assert full.findings[0].code == "sod.slots_filled"


def test_recheck_drops_approvals_of_people_who_left_the_group() -> None:
    given = [GivenApproval("carol", "leads"), GivenApproval("bob", "finance")]
    signers = {"carol": (CAROL, m("leads")), "bob": (BOB, m())}
    slots, findings = sod.recheck(given, signers, PEOPLE, {}, RULES)
    assert slots == [Slot("carol", "leads")]
    assert findings == [Reason("sod.not_in_group", "approval by bob no longer counts: not in finance any more")]
    assert missing(RULES, slots) == [("finance", 1)]


def test_unauthorized_author() -> None:
    cats = [Category("erp", ("erp/**",), RULES, authors=("engineers",))]
    assert sod.author_findings("mallory", m("visitors"), cats) == [
        Reason("sod.unauthorized_author", "unauthorized author: mallory is not in engineers (authors of erp)")]
    assert sod.author_findings("alice", m("engineers"), cats) == []


def test_identity_findings_block_unknown_pushers_and_show_unknown_co_authors() -> None:
    blocking, visible = sod.identity_findings(PEOPLE, {"alice": "alice", "Ghost": None}, {})
    assert blocking == [sod.unknown_pusher("Ghost")]
    assert len(visible) == 1 and "'x@ext.example'" in visible[0].message
    assert (blocking[0].code, visible[0].code) == ("sod.unknown_pusher", "sod.unknown_co_author")
    assert sod.identity_findings(PEOPLE, {"alice": "alice"}, {"x@ext.example": "xavier"}) == ([], [])
