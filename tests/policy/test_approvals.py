"""Which signatures count and which rules they fill (``policy.approvals``)."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.policy.approvals import Slot, counting, describe_missing, filled, missing
from gatekeeper.policy.rules import ApprovalRule


@dataclass(frozen=True)
class Sig:
    decision: str
    fingerprint: str
    who: str = "carol"
    ticket: str | None = None


RULES = (ApprovalRule("finance", 1), ApprovalRule("leads", 2))


def test_only_approvals_of_this_fingerprint_count() -> None:
    sigs = [Sig("approve", "f1", "carol"), Sig("reject", "f1", "bob"), Sig("approve", "f0", "dan"),
            Sig("approve", "f1", "erin")]
    assert [s.who for s in counting(sigs, "f1", "")] == ["carol", "erin"]
    assert counting(sigs, "f2", "") == []


def test_an_approval_counts_only_for_the_ticket_it_was_signed_for() -> None:
    """Issue 22 item 5: a new ticket is a new revision to approve; a signature recorded before tickets
    were (``ticket`` None) counts for any, as it always did."""
    sigs = [Sig("approve", "f1", "carol", "CHG-1"), Sig("approve", "f1", "gina", None),
            Sig("approve", "f1", "erin", "CHG-2")]
    assert [s.who for s in counting(sigs, "f1", "CHG-1")] == ["carol", "gina"]
    assert [s.who for s in counting(sigs, "f1", "")] == ["gina"]


def test_missing_counts_what_each_rule_still_needs() -> None:
    assert missing(RULES, []) == [("finance", 1), ("leads", 2)]
    assert missing(RULES, [Slot("carol", "leads"), Slot("bob", "finance")]) == [("leads", 1)]
    assert missing(RULES, [Slot("carol", "leads"), Slot("dan", "leads"), Slot("bob", "finance")]) == []
    assert missing((), [Slot("carol", "leads")]) == []  # no rule: nothing missing


def test_one_person_fills_a_group_once() -> None:
    twice = [Slot("carol", "leads"), Slot("carol", "leads"), Slot("bob", "finance")]
    assert not filled(RULES, twice)
    assert filled(RULES, [*twice, Slot("dan", "leads")])


def test_describe_missing_reads_as_a_sentence() -> None:
    assert describe_missing([("finance", 1), ("leads", 2)]) == "1 approval by finance; 2 approvals by leads"
    assert describe_missing([]) == ""
