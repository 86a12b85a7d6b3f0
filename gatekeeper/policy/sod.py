"""Segregation of duties (SPEC §3), checked at signing and again at the gate.

Returns findings, not a bool, so the web page, the 403 body and the log entry give the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gatekeeper.config import ApprovalRule, Category
from gatekeeper.directory.base import Membership, User
from gatekeeper.policy.states import SIGNABLE_STATES


@dataclass(frozen=True)
class Person:
    """Someone involved in making the change: by username (pushers) or email (commits)."""

    role: str  # "pusher" | "author" | "committer" | "co-author"
    username: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Slot:
    """A given approval that fills a slot of the rule for ``group``."""

    username: str
    group: str


@dataclass(frozen=True)
class SignerCheck:
    allowed: bool
    group: str | None
    findings: tuple[str, ...]
    memberships: tuple[Membership, ...] = field(default_factory=tuple)


def involvement(signer: User, people: Iterable[Person], email_to_user: Mapping[str, str]) -> list[str]:
    """How the signer took part in the change (an empty list means not at all)."""
    roles = []
    own_email = signer.email.strip().lower()
    for p in people:
        email = (p.email or "").strip().lower()
        if (p.username and p.username == signer.username) or (email and (
                email == own_email or email_to_user.get(email) == signer.username)):
            roles.append(p.role)
    return sorted(set(roles))


def check_signer(signer: User, memberships: Sequence[Membership], people: Iterable[Person],
                 email_to_user: Mapping[str, str], rules: Sequence[ApprovalRule], filled: Sequence[Slot],
                 requested_group: str | None = None) -> SignerCheck:
    """May ``signer`` fill a slot now, and which one?"""
    findings: list[str] = []
    roles = involvement(signer, people, email_to_user)
    if roles:
        findings.append(f"{signer.username} cannot approve a change they took part in (as {', '.join(roles)})")
    groups = {m.group for m in memberships}
    used = [m for m in memberships if any(r.group == m.group for r in rules)]
    if any(s.username == signer.username for s in filled):
        findings.append(f"{signer.username} already fills a slot on this change (one person, one slot)")
    eligible = [r for r in rules if r.group in groups]
    if requested_group is not None:
        eligible = [r for r in eligible if r.group == requested_group]
    if not rules:
        findings.append("this change needs no approval")
    elif not eligible:
        need = ", ".join(r.group for r in rules) if requested_group is None else requested_group
        findings.append(f"{signer.username} is not in an approving group for this change (needs: {need})")
    open_rules = [r for r in eligible if sum(1 for s in filled if s.group == r.group) < r.count]
    if eligible and not open_rules and not findings:
        findings.append("every slot " + ", ".join(f"for {r.group}" for r in eligible) + " is already filled")
    if findings:
        return SignerCheck(False, None, tuple(findings), tuple(used))
    return SignerCheck(True, open_rules[0].group, (), tuple(used))


def check_rejecter(signer: User, memberships: Sequence[Membership], people: Iterable[Person],
                   email_to_user: Mapping[str, str], rules: Sequence[ApprovalRule]) -> SignerCheck:
    """Rejecting needs the same independence and an approving group, but takes no slot."""
    return check_signer(signer, memberships, people, email_to_user, rules, filled=())


def author_findings(pusher: str, memberships: Sequence[Membership], categories: Iterable[Category]) -> list[str]:
    """The pusher must be in each category's ``authors`` groups (when it names any)."""
    groups = {m.group for m in memberships}
    out = []
    for cat in categories:
        if cat.authors and not groups.intersection(cat.authors):
            out.append(f"unauthorized author: {pusher} is not in {' or '.join(cat.authors)} "
                       f"(authors of {cat.name})")
    return out


@dataclass(frozen=True)
class GivenApproval:
    username: str
    group: str


def recheck(approvals: Sequence[GivenApproval], signers: Mapping[str, tuple[User | None, Sequence[Membership]]],
            people: Iterable[Person], email_to_user: Mapping[str, str],
            rules: Sequence[ApprovalRule]) -> tuple[list[Slot], list[str]]:
    """Re-run SoD on given approvals with today's directory (the gate). Returns valid slots and findings."""
    people = list(people)
    slots: list[Slot] = []
    findings: list[str] = []
    for a in approvals:
        user, memberships = signers.get(a.username, (None, ()))
        if user is None:
            findings.append(f"approval by {a.username} no longer counts: user not found in the directory")
            continue
        roles = involvement(user, people, email_to_user)
        if roles:
            findings.append(f"approval by {a.username} does not count: took part in the change ({', '.join(roles)})")
            continue
        if a.group not in {m.group for m in memberships}:
            findings.append(f"approval by {a.username} no longer counts: not in {a.group} any more")
            continue
        if any(s.username == a.username for s in slots):
            findings.append(f"approval by {a.username} for {a.group} does not count: one person, one slot")
            continue
        rule = next((r for r in rules if r.group == a.group), None)
        if rule is None or sum(1 for s in slots if s.group == a.group) >= rule.count:
            continue
        slots.append(Slot(a.username, a.group))
    return slots, findings


def missing(rules: Sequence[ApprovalRule], slots: Sequence[Slot]) -> list[tuple[str, int]]:
    """(group, how many more) for every rule not yet filled."""
    out = []
    for r in rules:
        have = sum(1 for s in slots if s.group == r.group)
        if have < r.count:
            out.append((r.group, r.count - have))
    return out


def describe_missing(items: Sequence[tuple[str, int]]) -> str:
    return "; ".join(f"{n} approval{'s' if n > 1 else ''} by {g}" for g, n in items)


def identity_findings(people: Iterable[Person], known_pushers: Mapping[str, str | None],
                      email_to_user: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(blocking, visible) findings about people SoD cannot identify.

    A pusher whose name the directory does not know blocks every approval (fail closed: the one
    identity git vouches for cannot be compared with a signer). A ``Co-authored-by`` value that names
    nobody in the directory is shown to approvers, so a hidden co-author is not silently dropped.
    """
    blocking = [unknown_pusher(name) for name, canonical in known_pushers.items() if canonical is None]
    visible = []
    for p in people:
        if p.role == "co-author" and p.email and (p.email.strip().lower() not in email_to_user):
            what = "an address" if "@" in p.email else "a name without an address"
            visible.append(f"co-author {p.email!r} ({what}) matches no directory user: check who it is before "
                           "signing")
    return list(dict.fromkeys(blocking)), list(dict.fromkeys(visible))


def unknown_pusher(name: str) -> str:
    return (f"unknown pusher: {name} is not a directory user, so segregation of duties cannot be checked; "
            "this change cannot be approved")


@dataclass(frozen=True)
class Signing:
    """``signing_blockers``' answer: may this person sign this CR now, and if not why."""

    change: tuple[str, ...]  # reasons nobody may approve right now (state, validation errors, author)
    change_reject: tuple[str, ...]  # reasons nobody may reject right now (state)
    approve: SignerCheck
    reject: SignerCheck

    @property
    def may_approve(self) -> bool:
        return not self.change and self.approve.allowed

    @property
    def may_reject(self) -> bool:
        return not self.change_reject and self.reject.allowed

    def reasons(self, decision: str = "approve") -> list[str]:
        if decision == "reject":
            return [*self.change_reject, *self.reject.findings]
        return [*self.change, *self.approve.findings]


def signing_blockers(*, state: str, errors: int, author_findings: Sequence[str], signer: User,
                     memberships: Sequence[Membership], people: Iterable[Person], email_to_user: Mapping[str, str],
                     rules: Sequence[ApprovalRule], filled: Sequence[Slot],
                     requested_group: str | None = None) -> Signing:
    """The one answer to "may ``signer`` sign this CR now" for the API, the change page and the dashboard.

    Pure: the caller gathers the CR's state, its validation error count, its blocking author/identity
    findings, who took part and the signer's memberships (``actions.review.signing``).
    """
    people = list(people)
    change: tuple[str, ...]
    change_reject: tuple[str, ...]
    if state not in SIGNABLE_STATES:
        closed = (f"this change request is {state}; signatures are taken while it is pending "
                  "(or emergency, for retrospective approval)",)
        change, change_reject = closed, closed
    else:
        reasons = []
        if errors:
            reasons.append(f"it has {errors} validation error(s) (see Findings); it cannot be approved until "
                           "they are fixed by a new push")
        reasons.extend(f if "cannot be approved" in f else f"{f}; the change cannot be approved"
                       for f in dict.fromkeys(author_findings))
        change, change_reject = tuple(reasons), ()
    return Signing(change, change_reject,
                   check_signer(signer, memberships, people, email_to_user, rules, filled, requested_group),
                   check_rejecter(signer, memberships, people, email_to_user, rules))
