"""A change request's approvals right now, and who may sign it (SPEC §2, §3): from the facts of the CR.

``ChangeFacts`` is what the store and the directory said about one CR at this moment (gathered by
``actions.review.facts``, the one place that asks); ``review`` re-checks its approvals against them;
``signing_blockers`` answers "may this person sign now" for the API, the change page, the
dashboard and the mail; the gate (``policy.gate.assess``) reviews the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatekeeper.policy import sod
from gatekeeper.policy.approvals import Signature, Slot, missing
from gatekeeper.policy.people import Membership, User
from gatekeeper.policy.reasons import Code, Reason, reason
from gatekeeper.policy.rules import ApprovalRule
from gatekeeper.policy.states import not_signable


@dataclass(frozen=True)
class ChangeFacts:
    """One CR's current revision with its rules, approvals, people and the directory's answers."""

    id: int
    state: str
    revision: int
    revision_id: int
    fingerprint: str
    rules: tuple[ApprovalRule, ...]
    given: tuple[Signature, ...]                              # approvals signed for this fingerprint and ticket
    signers: Mapping[str, tuple[User | None, tuple[Membership, ...]]]
    people: tuple[sod.Person, ...]                            # everyone who took part, each resolved once
    errors: tuple[Mapping[str, Any], ...] = ()                # validation errors of the revision
    blocking: tuple[Reason, ...] = ()                         # author and identity findings: nobody may approve
    visible: tuple[Reason, ...] = ()                          # identity findings shown to approvers


@dataclass(frozen=True)
class Review:
    """The CR's approvals re-checked against the directory now: the slots they fill, what is missing."""

    facts: ChangeFacts
    slots: tuple[Slot, ...]
    findings: tuple[Reason, ...]                              # approvals that do not count, unknown co-authors
    missing: tuple[tuple[str, int], ...]

    @property
    def rules(self) -> tuple[ApprovalRule, ...]:
        return self.facts.rules

    @property
    def errors(self) -> tuple[Mapping[str, Any], ...]:
        return self.facts.errors

    @property
    def author_findings(self) -> tuple[Reason, ...]:
        return self.facts.blocking

    @property
    def people(self) -> tuple[sod.Person, ...]:
        return self.facts.people

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors and not self.author_findings

    def counts(self, username: str, group: str) -> bool:
        """Whether ``username``'s approval for ``group`` fills a slot now."""
        return any(s.username == username and s.group == group for s in self.slots)


def review(facts: ChangeFacts) -> Review:
    """SoD again on every given approval (SPEC §3: "again at the gate"), and the rules still open."""
    slots, findings = sod.recheck(facts.given, facts.signers, facts.people, facts.rules)
    return Review(facts=facts, slots=tuple(slots), findings=tuple([*findings, *facts.visible]),
                  missing=tuple(missing(facts.rules, slots)))


def blockers(errors: int, blocking: Sequence[Reason]) -> tuple[Reason, ...]:
    """Why nobody may approve a revision with ``errors`` validation errors and these author and identity
    findings: the sign form's reasons, and what makes a change request "blocked" (``policy.status``)."""
    reasons = []
    if errors:
        reasons.append(reason(Code.CHANGE_VALIDATION_ERRORS, f"it has {errors} validation error(s) (see "
                              "Findings); it cannot be approved until they are fixed by a new push"))
    reasons.extend(r if r.code == Code.SOD_UNKNOWN_PUSHER else Reason(r.code, f"{r.message}; the change cannot "
                                                                               "be approved")
                   for r in dict.fromkeys(blocking))
    return tuple(reasons)


@dataclass(frozen=True)
class Signing:
    """``signing_blockers``' answer: may this person sign this CR now, and if not why."""

    change: tuple[Reason, ...]  # reasons nobody may approve right now (state, validation errors, author)
    change_reject: tuple[Reason, ...]  # reasons nobody may reject right now (state)
    approve: sod.SignerCheck
    reject: sod.SignerCheck

    @property
    def may_approve(self) -> bool:
        return not self.change and self.approve.allowed

    @property
    def may_reject(self) -> bool:
        return not self.change_reject and self.reject.allowed

    def reasons(self, decision: str = "approve") -> list[Reason]:
        if decision == "reject":
            return [*self.change_reject, *self.reject.findings]
        return [*self.change, *self.approve.findings]


def signing_blockers(current: Review, signer: User, memberships: tuple[Membership, ...] | list[Membership],
                     requested_group: str | None = None) -> Signing:
    """The one answer to "may ``signer`` sign this CR now" (``memberships``: the signer's, looked up now)."""
    f = current.facts
    closed = not_signable(f.state)
    change: tuple[Reason, ...]
    change_reject: tuple[Reason, ...]
    if closed is not None:
        change, change_reject = (closed,), (closed,)
    else:
        change, change_reject = blockers(len(f.errors), f.blocking), ()
    return Signing(change, change_reject,
                   sod.check_signer(signer, memberships, f.people, f.rules, current.slots, requested_group),
                   sod.check_rejecter(signer, memberships, f.people, f.rules))
