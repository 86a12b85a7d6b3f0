"""Where a change request stands and who acts next (``policy.status``) and the meanings each decision
may carry (``policy.rules.meanings``): values in, values out (issue 25). A revision's title:
tests/policy/test_titles.py."""

from __future__ import annotations

import pytest

from gatekeeper.policy.approvals import Signature
from gatekeeper.policy.reasons import Reason
from gatekeeper.policy.review import blockers
from gatekeeper.policy.rules import DEFAULT_MEANINGS, ApprovalRule, Category, meanings
from gatekeeper.policy.status import Actor, Next, Standing, StatusFacts, Withdrawal, status

UNAUTHORIZED = Reason("sod.unauthorized_author", "mallory is not in the authors groups of recipes")
UNKNOWN = Reason("sod.unknown_pusher", "pusher ghost is not a directory user")
REJECTED = Signature("carol", "leads", "Reviewed and rejected", "2027-01-02T10:00:00Z", decision="reject",
                     comment="limit needs a HAZOP note", name="Carol Lead")


@pytest.mark.parametrize(("facts", "standing", "acts", "step", "code"), [
    (StatusFacts(1, "pending", blockers=blockers(2, ())), Standing.BLOCKED, Actor.AUTHOR, Next.FIX_FINDINGS,
     "change.blocked"),
    (StatusFacts(1, "pending", blockers=blockers(0, (UNAUTHORIZED,))), Standing.BLOCKED, Actor.AUTHOR,
     Next.AUTHORIZED_PUSH, "change.blocked"),
    (StatusFacts(1, "pending", blockers=blockers(0, (UNKNOWN,))), Standing.BLOCKED, Actor.AUTHOR, Next.KNOWN_PUSHER,
     "change.blocked"),
    (StatusFacts(1, "pending", blockers=(Reason("sod.unknown_identity", "x"),)), Standing.BLOCKED, Actor.AUTHOR,
     Next.FIX_AND_PUSH, "change.blocked"),
    (StatusFacts(1, "emergency", blockers=blockers(1, ())), Standing.BLOCKED, Actor.AUTHOR, Next.FIX_FINDINGS,
     "change.blocked"),
    (StatusFacts(1, "rejected", rejection=REJECTED), Standing.REJECTED, Actor.AUTHOR, Next.PUSH_OR_WITHDRAW,
     "change.rejected"),
    (StatusFacts(1, "withdrawn", withdrawal=Withdrawal("alice", "not needed", "t")), Standing.WITHDRAWN, Actor.NOBODY,
     Next.PUSH_AGAIN, "change.withdrawn"),
    (StatusFacts(1, "approved", topic="raise-rpm", target="main", superseded_by=7), Standing.SUPERSEDED,
     Actor.AUTHOR, Next.USE_NEWER, "change.superseded"),
    (StatusFacts(1, "rejected", rejection=REJECTED, superseded_by=7), Standing.SUPERSEDED, Actor.AUTHOR,
     Next.USE_NEWER, "change.superseded"),
    (StatusFacts(1, "pending"), Standing.WAITING, Actor.APPROVERS, Next.SIGN, None),
    (StatusFacts(1, "emergency"), Standing.WAITING, Actor.APPROVERS, Next.RETRO, None),
    (StatusFacts(1, "approved"), Standing.READY, Actor.AUTHOR, Next.MERGE, None),
    (StatusFacts(1, "deployed", superseded_by=7), Standing.DONE, Actor.NOBODY, Next.NONE, None),
    (StatusFacts(1, "retro-approved"), Standing.DONE, Actor.NOBODY, Next.NONE, None),
])
def test_status(facts: StatusFacts, standing: Standing, acts: Actor, step: Next, code: str | None) -> None:
    got = status(facts)
    assert (got.standing, got.acts, got.next) == (standing, acts, step)
    assert (got.reason.code if got.reason else None) == code
    assert got.to_dict()["standing"] == standing.value


def test_the_reasons_say_who_and_why() -> None:
    rejected = status(StatusFacts(3, "rejected", rejection=REJECTED)).reason
    assert rejected is not None and rejected.message == (
        "rejected by Carol Lead (carol) as “Reviewed and rejected”: limit needs a HAZOP note; a new push with other "
        "content reopens it")
    blocked = status(StatusFacts(3, "pending", blockers=blockers(2, (UNAUTHORIZED,))))
    assert [c.code for c in blocked.causes] == ["change.validation_errors", "sod.unauthorized_author"]
    assert blocked.reason is not None and "2 validation error(s)" in blocked.reason.message
    withdrawn = status(StatusFacts(3, "withdrawn", withdrawal=Withdrawal("gatekeeper", "topic branch deleted", "t")))
    assert withdrawn.reason is not None and withdrawn.reason.message == "withdrawn by gatekeeper: topic branch deleted"


def test_the_rejection_keeps_its_json_keys() -> None:
    """The change JSON's ``status.rejection`` (RejectionOut) is read from the one approval shape."""
    assert status(StatusFacts(3, "rejected", rejection=REJECTED)).to_dict()["rejection"] == {
        "username": "carol", "name": "Carol Lead", "meaning": "Reviewed and rejected",
        "comment": "limit needs a HAZOP note", "at": "2027-01-02T10:00:00Z"}


def test_each_decision_has_its_own_meanings() -> None:
    rule = (ApprovalRule("leads", 1),)
    recipes = Category("recipes", ("recipes/**",), rule, meanings=("Approved for production",),
                       reject_meanings=("Rejected: unsafe", "Rejected: incomplete"))
    docs = Category("docs", ("docs/**",), ())
    assert meanings([recipes]) == ["Approved for production"]
    assert meanings([recipes], "reject") == ["Rejected: unsafe", "Rejected: incomplete"]
    assert meanings([docs], "reject") == ["Reviewed and rejected"] and meanings([docs]) == list(DEFAULT_MEANINGS)
    assert not set(meanings([recipes, docs], "reject")) & set(meanings([recipes, docs]))
