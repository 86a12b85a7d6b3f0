from __future__ import annotations

from gatekeeper.ledger.events import Reason
from gatekeeper.policy import identity, sod
from gatekeeper.policy.approvals import Signature, Slot, missing
from gatekeeper.policy.people import Identity, Membership, User, known, unknown
from gatekeeper.policy.rules import ApprovalRule, Category

CAROL = User("carol", "Carol Lead", "carol@plant.example")
BOB = User("bob", "Bob Controller", "bob@plant.example")
RULES = (ApprovalRule("finance", 1), ApprovalRule("leads", 1))
ALICE = User("alice", "Alice", "alice@plant.example")
PEOPLE = [sod.Person("pusher", known(ALICE)), sod.Person("author", Identity("Alice@Plant.Example", ALICE)),
          sod.Person("committer", Identity("alice@plant.example", ALICE)),
          sod.Person("co-author", unknown("x@ext.example"))]


def m(*groups: str) -> list[Membership]:
    return [Membership(g, (g,)) for g in groups]


def test_independent_member_fills_the_open_slot() -> None:
    check = sod.check_signer(CAROL, m("leads", "finance"), PEOPLE, RULES, [Slot("bob", "finance")])
    assert check.allowed and check.group == "leads"


def test_author_by_email_mapping_cannot_sign() -> None:
    people = [*PEOPLE[:3], sod.Person("co-author", Identity("x@ext.example", CAROL))]
    check = sod.check_signer(CAROL, m("leads"), people, RULES, [])
    assert not check.allowed and "as co-author" in check.findings[0].message and check.findings[0].code == "sod.self"


def test_a_look_alike_of_the_signer_counts_as_the_signer() -> None:
    """Issue 22 item 6: an author address imitating carol's (a Cyrillic а) makes carol a participant."""
    people = [*PEOPLE[:1], sod.Person("author", Identity("c\u0430rol@plant.example", None, ("carol",)))]
    check = sod.check_signer(CAROL, m("leads"), people, RULES, [])
    assert not check.allowed and check.findings[0].code == "sod.self" and "as author" in check.findings[0].message


def test_one_person_one_slot() -> None:
    check = sod.check_signer(CAROL, m("leads", "finance"), PEOPLE, RULES, [Slot("carol", "leads")])
    assert not check.allowed and any("one person, one slot" in f.message and f.code == "sod.one_slot"
                                     for f in check.findings)


def test_not_in_group_and_full_slots() -> None:
    outside = sod.check_signer(BOB, m("other"), PEOPLE, RULES, []).findings[0]
    assert "not in an approving group" in outside.message and outside.code == "sod.not_in_group"
    full = sod.check_signer(BOB, m("finance"), PEOPLE, RULES, [Slot("dan", "finance")])
    assert not full.allowed and "already filled" in full.findings[0].message
    assert full.findings[0].code == "sod.slots_filled"


def test_recheck_drops_approvals_of_people_who_left_the_group() -> None:
    given = [Signature("carol", "leads"), Signature("bob", "finance")]
    signers = {"carol": (CAROL, m("leads")), "bob": (BOB, m())}
    slots, findings = sod.recheck(given, signers, PEOPLE, RULES)
    assert slots == [Slot("carol", "leads")]
    assert findings == [Reason("sod.not_in_group", "approval by bob no longer counts: not in finance any more")]
    assert missing(RULES, slots) == [("finance", 1)]


def test_unauthorized_author() -> None:
    cats = [Category("erp", ("erp/**",), RULES, authors=("engineers",))]
    assert sod.author_findings("mallory", m("visitors"), cats) == [
        Reason("sod.unauthorized_author", "unauthorized author: mallory is not in engineers (authors of erp)")]
    assert sod.author_findings("alice", m("engineers"), cats) == []


def test_identity_findings_block_unknown_pushers_and_show_unknown_co_authors() -> None:
    blocking, visible = sod.identity_findings([*PEOPLE, sod.Person("pusher", unknown("Ghost"))])
    assert blocking == [sod.unknown_pusher("Ghost")]
    assert len(visible) == 1 and "'x@ext.example'" in visible[0].message
    assert (blocking[0].code, visible[0].code) == ("sod.unknown_pusher", "sod.unknown_co_author")
    xavier = User("xavier", "Xavier", "x@ext.example")
    assert sod.identity_findings([*PEOPLE[:3], sod.Person("co-author", Identity("x@ext.example", xavier))]) == ([], [])


def test_unknown_authors_and_committers_block_by_default_and_are_flagged_on_request() -> None:
    """Issue 22 item 6: an address no directory user has; an outside party's; invisible characters."""
    people = [sod.Person("author", unknown("carol+ot@plant.example")),
              sod.Person("committer", Identity("eve\u200b@plant.example", None, (), ("U+200B ZERO WIDTH SPACE",))),
              sod.Person("author", unknown("jane@integrator.example"))]
    blocking, visible = sod.identity_findings(people, identity.BLOCK, ("*@integrator.example",))
    assert [r.code for r in blocking] == ["sod.unknown_commit_identity"] * 2
    assert "'eve\\u200b@plant.example'" in blocking[1].message  # the invisible character shown, not hidden
    assert [r.code for r in visible] == ["sod.hidden_characters", "sod.external_identity"]
    assert "U+200B ZERO WIDTH SPACE" in visible[0].message
    flagged, shown = sod.identity_findings(people, identity.FLAG, ())
    assert flagged == [] and [r.code for r in shown].count("sod.unknown_commit_identity") == 3
