"""Segregation of duties (SPEC §3), checked at signing and again at the gate.

Returns findings (``Reason``: a code and a sentence), not a bool, so the web page, the 403 body and
the log entry give the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gatekeeper.policy.approvals import GivenApproval, Slot
from gatekeeper.policy.people import Membership, User
from gatekeeper.policy.reasons import Code, Reason, reason
from gatekeeper.policy.rules import ApprovalRule, Category


@dataclass(frozen=True)
class Person:
    """Someone involved in making the change: by username (pushers) or email (commits)."""

    role: str  # "pusher" | "author" | "committer" | "co-author"
    username: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class SignerCheck:
    allowed: bool
    group: str | None
    findings: tuple[Reason, ...]
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
    findings: list[Reason] = []
    roles = involvement(signer, people, email_to_user)
    if roles:
        findings.append(reason(Code.SOD_SELF, f"{signer.username} cannot approve a change they took part in "
                                              f"(as {', '.join(roles)})"))
    groups = {m.group for m in memberships}
    used = [m for m in memberships if any(r.group == m.group for r in rules)]
    if any(s.username == signer.username for s in filled):
        findings.append(reason(Code.SOD_ONE_SLOT, f"{signer.username} already fills a slot on this change "
                                                  "(one person, one slot)"))
    eligible = [r for r in rules if r.group in groups]
    if requested_group is not None:
        eligible = [r for r in eligible if r.group == requested_group]
    if not rules:
        findings.append(reason(Code.SOD_NO_APPROVAL_NEEDED, "this change needs no approval"))
    elif not eligible:
        need = ", ".join(r.group for r in rules) if requested_group is None else requested_group
        findings.append(reason(Code.SOD_NOT_IN_GROUP, f"{signer.username} is not in an approving group for this "
                                                      f"change (needs: {need})"))
    open_rules = [r for r in eligible if sum(1 for s in filled if s.group == r.group) < r.count]
    if eligible and not open_rules and not findings:
        findings.append(reason(Code.SOD_SLOTS_FILLED, "every slot " + ", ".join(f"for {r.group}" for r in eligible)
                               + " is already filled"))
    if findings:
        return SignerCheck(False, None, tuple(findings), tuple(used))
    return SignerCheck(True, open_rules[0].group, (), tuple(used))


def check_rejecter(signer: User, memberships: Sequence[Membership], people: Iterable[Person],
                   email_to_user: Mapping[str, str], rules: Sequence[ApprovalRule]) -> SignerCheck:
    """Rejecting needs the same independence and an approving group, but takes no slot."""
    return check_signer(signer, memberships, people, email_to_user, rules, filled=())


def author_findings(pusher: str, memberships: Sequence[Membership], categories: Iterable[Category]) -> list[Reason]:
    """The pusher must be in each category's ``authors`` groups (when it names any)."""
    groups = {m.group for m in memberships}
    out = []
    for cat in categories:
        if cat.authors and not groups.intersection(cat.authors):
            out.append(reason(Code.SOD_UNAUTHORIZED_AUTHOR, f"unauthorized author: {pusher} is not in "
                                                            f"{' or '.join(cat.authors)} (authors of {cat.name})"))
    return out


def recheck(approvals: Sequence[GivenApproval], signers: Mapping[str, tuple[User | None, Sequence[Membership]]],
            people: Iterable[Person], email_to_user: Mapping[str, str],
            rules: Sequence[ApprovalRule]) -> tuple[list[Slot], list[Reason]]:
    """Re-run SoD on given approvals with today's directory (the gate). Returns valid slots and findings."""
    people = list(people)
    slots: list[Slot] = []
    findings: list[Reason] = []
    for a in approvals:
        user, memberships = signers.get(a.username, (None, ()))
        if user is None:
            findings.append(reason(Code.SOD_UNKNOWN_SIGNER, f"approval by {a.username} no longer counts: user not "
                                                            "found in the directory"))
            continue
        roles = involvement(user, people, email_to_user)
        if roles:
            findings.append(reason(Code.SOD_SELF, f"approval by {a.username} does not count: took part in the "
                                                  f"change ({', '.join(roles)})"))
            continue
        if a.group not in {m.group for m in memberships}:
            findings.append(reason(Code.SOD_NOT_IN_GROUP, f"approval by {a.username} no longer counts: not in "
                                                          f"{a.group} any more"))
            continue
        if any(s.username == a.username for s in slots):
            findings.append(reason(Code.SOD_ONE_SLOT, f"approval by {a.username} for {a.group} does not count: one "
                                                      "person, one slot"))
            continue
        rule = next((r for r in rules if r.group == a.group), None)
        if rule is None or sum(1 for s in slots if s.group == a.group) >= rule.count:
            continue
        slots.append(Slot(a.username, a.group))
    return slots, findings


def identity_findings(people: Iterable[Person], known_pushers: Mapping[str, str | None],
                      email_to_user: Mapping[str, str]) -> tuple[list[Reason], list[Reason]]:
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
            visible.append(reason(Code.SOD_UNKNOWN_CO_AUTHOR, f"co-author {p.email!r} ({what}) matches no "
                                                              "directory user: check who it is before signing"))
    return list(dict.fromkeys(blocking)), list(dict.fromkeys(visible))


def unknown_pusher(name: str) -> Reason:
    return reason(Code.SOD_UNKNOWN_PUSHER, f"unknown pusher: {name} is not a directory user, so segregation of "
                                           "duties cannot be checked; this change cannot be approved")
