"""Which signatures count, and which rules they fill (SPEC §2, §3): the one answer for the gate, the
signature, the change page, the register and the metrics.

A signature counts only for the content it was given for: an approval (not a rejection) whose
fingerprint is the revision's. Slots are filled per rule group; one person fills at most one slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol, TypeVar

from gatekeeper.policy.rules import APPROVE as APPROVE  # the decisions' words live in policy.rules
from gatekeeper.policy.rules import REJECT as REJECT
from gatekeeper.policy.rules import ApprovalRule


class Signed(Protocol):
    """What ``counting`` needs of a signature."""

    @property
    def decision(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def ticket(self) -> str | None: ...


S = TypeVar("S", bound=Signed)


def counting(signatures: Iterable[S], fingerprint: str, ticket: str) -> list[S]:
    """The approvals given for ``fingerprint`` and ``ticket``: the only ones that can fill a slot of
    that revision. An approval is for what was shown (issue 22 item 5): a new ticket is a new
    revision to approve; a signature recorded before tickets were (``ticket`` None) counts for any."""
    return [s for s in signatures if s.decision == APPROVE and s.fingerprint == fingerprint
            and (s.ticket is None or s.ticket == ticket)]


class Signature(NamedTuple):
    """One electronic signature, the one shape an approval has from the stored row to the register and
    approvals export (issue 23 item 3): who, for which rule group, the decision and meaning, and what was
    shown (fingerprint, ticket, title, target). A slot of a rule is filled by one (``username``, ``group``).

    A NamedTuple, not a dataclass: the register builds one per approving row of 100,000 CRs
    (bench/register_bench.py). Its first five fields are in the order of the standalone verifier's
    projected signatures (``verifier.projection.register_row``): ``verifier.metrics`` reads a register
    row's ``approvals_given`` by position, from the database and from the pack alike.
    """

    username: str
    group: str
    meaning: str = ""
    signed_at: str = ""
    fingerprint: str = ""
    ticket: str | None = None      # None: signed before the ticket was recorded (counts for any ticket)
    decision: str = APPROVE
    revision: int = 0
    comment: str = ""
    name: str = ""                 # the signer's printed name, from the directory
    title: str | None = None       # the revision's title and the target the signer was shown (None: before
    target: str | None = None      # migration 0012 recorded them)
    log_seq: int = 0               # the change.approved / change.rejected entry
    change_id: int = 0
    memberships: str = "[]"        # the memberships that qualified the signer, as recorded (JSON)


Slot = Signature  # a signature that fills a slot of its group's rule (``sod.recheck``)


def missing(rules: Sequence[ApprovalRule], slots: Sequence[Slot]) -> list[tuple[str, int]]:
    """(group, how many more) for every rule not yet filled."""
    out = []
    for r in rules:
        have = sum(1 for s in slots if s.group == r.group)
        if have < r.count:
            out.append((r.group, r.count - have))
    return out


def filled(rules: Sequence[ApprovalRule], slots: Iterable[Slot]) -> bool:
    """Whether ``slots`` fill every rule (each person counted once per group)."""
    return not missing(rules, list(dict.fromkeys(slots)))


def describe_missing(items: Sequence[tuple[str, int]]) -> str:
    return "; ".join(f"{n} approval{'s' if n > 1 else ''} by {g}" for g, n in items)
