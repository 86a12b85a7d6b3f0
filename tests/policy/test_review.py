"""A CR's approvals right now and who may sign it (``policy.review``): one answer for every caller."""

from __future__ import annotations

from gatekeeper.ledger.events import Reason
from gatekeeper.policy.approvals import Signature, Slot
from gatekeeper.policy.people import User
from gatekeeper.policy.review import ChangeFacts, review, signing_blockers
from tests.policy.test_sod import BOB, CAROL, PEOPLE, RULES, m


def facts(state: str = "pending", errors: int = 0, blocking: tuple[Reason, ...] = ()) -> ChangeFacts:
    return ChangeFacts(id=1, state=state, revision=1, revision_id=1, fingerprint="f", rules=RULES, given=(),
                       signers={}, people=tuple(PEOPLE), blocking=blocking,
                       errors=tuple({"path": "p", "location": "l", "message": "bad"} for _ in range(errors)))


def test_signing_blockers_one_answer_for_every_caller() -> None:
    leads_and_finance = m("leads", "finance")
    ok = signing_blockers(review(facts()), CAROL, leads_and_finance)
    assert ok.may_approve and ok.may_reject and ok.approve.group == "finance" and ok.reasons() == []
    closed = signing_blockers(review(facts("deployed")), CAROL, leads_and_finance)
    assert not closed.may_approve and not closed.may_reject and "is deployed" in closed.reasons("reject")[0].message
    assert closed.reasons("reject")[0].code == "change.not_signable"
    unauthorized = Reason("sod.unauthorized_author", "unauthorized author: x")
    broken = signing_blockers(review(facts(errors=2, blocking=(unauthorized,))), CAROL, leads_and_finance)
    assert not broken.may_approve and broken.may_reject  # a broken change can still be rejected
    assert "2 validation error(s)" in broken.reasons()[0].message
    assert broken.reasons()[0].code == "change.validation_errors"
    assert broken.reasons()[1] == Reason("sod.unauthorized_author",
                                         "unauthorized author: x; the change cannot be approved")
    alice = User("alice", "Alice", "alice@plant.example")
    mine = signing_blockers(review(facts()), alice, leads_and_finance)
    assert not mine.may_approve and "took part" in mine.reasons()[0].message


def test_review_rechecks_given_approvals_and_says_what_is_missing() -> None:
    given = (Signature("carol", "leads"), Signature("bob", "finance"))
    signers = {"carol": (CAROL, tuple(m("leads"))), "bob": (BOB, ())}  # bob left finance since signing
    now = review(ChangeFacts(id=1, state="pending", revision=1, revision_id=1, fingerprint="f", rules=RULES,
                             given=given, signers=signers, people=tuple(PEOPLE)))
    assert now.slots == (Slot("carol", "leads"),) and now.missing == (("finance", 1),)
    assert not now.complete and now.counts("carol", "leads") and not now.counts("bob", "finance")
    assert [f.code for f in now.findings] == ["sod.not_in_group"]
    signers["bob"] = (BOB, tuple(m("finance")))
    full = review(ChangeFacts(id=1, state="pending", revision=1, revision_id=1, fingerprint="f", rules=RULES,
                              given=given, signers=signers, people=tuple(PEOPLE)))
    assert full.complete and full.missing == () and full.findings == ()
    blocked = review(facts(blocking=(Reason("sod.unknown_pusher", "unknown pusher Ghost"),)))
    assert not blocked.complete and blocked.author_findings[0].code == "sod.unknown_pusher"
