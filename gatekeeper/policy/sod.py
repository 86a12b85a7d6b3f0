"""Segregation of duties (SPEC §3), checked at signing and again at the gate.

Returns findings (``Reason``: a code and a sentence), not a bool, so the web page, the 403 body and
the log entry give the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gatekeeper.policy import identity
from gatekeeper.policy.approvals import Signature, Slot
from gatekeeper.policy.people import Identity, Membership, User
from gatekeeper.policy.reasons import Code, Reason, reason
from gatekeeper.policy.rules import ApprovalRule, Category


@dataclass(frozen=True)
class Person:
    """Someone who took part in making the change, resolved once (``people.Identity``): a pusher by
    username, an author, committer or co-author by address (a bare-name co-author by name)."""

    role: str  # "pusher" | "author" | "committer" | "co-author"
    who: Identity


@dataclass(frozen=True)
class SignerCheck:
    allowed: bool
    group: str | None
    findings: tuple[Reason, ...]
    memberships: tuple[Membership, ...] = field(default_factory=tuple)


def involvement(signer: User, people: Iterable[Person]) -> list[str]:
    """How the signer took part in the change (an empty list means not at all): as themselves, or
    through an identity that looks like theirs (a confusable address counts as them)."""
    return sorted({p.role for p in people if p.who.is_user(signer.username)})


def check_signer(signer: User, memberships: Sequence[Membership], people: Iterable[Person],
                 rules: Sequence[ApprovalRule], filled: Sequence[Slot], requested_group: str | None = None
                 ) -> SignerCheck:
    """May ``signer`` fill a slot now, and which one?"""
    findings: list[Reason] = []
    roles = involvement(signer, people)
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
                   rules: Sequence[ApprovalRule]) -> SignerCheck:
    """Rejecting needs the same independence and an approving group, but takes no slot."""
    return check_signer(signer, memberships, people, rules, filled=())


def author_findings(pusher: str, memberships: Sequence[Membership], categories: Iterable[Category]) -> list[Reason]:
    """The pusher must be in each category's ``authors`` groups (when it names any)."""
    groups = {m.group for m in memberships}
    out = []
    for cat in categories:
        if cat.authors and not groups.intersection(cat.authors):
            out.append(reason(Code.SOD_UNAUTHORIZED_AUTHOR, f"unauthorized author: {pusher} is not in "
                                                            f"{' or '.join(cat.authors)} (authors of {cat.name})"))
    return out


def recheck(approvals: Sequence[Signature], signers: Mapping[str, tuple[User | None, Sequence[Membership]]],
            people: Iterable[Person], rules: Sequence[ApprovalRule]) -> tuple[list[Slot], list[Reason]]:
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
        roles = involvement(user, people)
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


def identity_findings(people: Iterable[Person], mode: str = identity.BLOCK, externals: Sequence[str] = ()
                      ) -> tuple[list[Reason], list[Reason]]:
    """(blocking, visible) findings about people SoD cannot identify (SPEC §3, §12).

    A pusher the directory does not know blocks every approval (fail closed: the one identity git
    vouches for cannot be compared with a signer). An author or committer address no directory user
    has blocks too (``[sod] unknown_commit_identity = "block"``, the default) or is shown (``"flag"``),
    unless it is an outside party's (``external_identities``: shown). An identity that looks like a
    directory user's, or holds invisible characters, is named; a co-author nobody matches is shown.
    """
    blocking: list[Reason] = []
    visible: list[Reason] = []
    for p in people:
        if p.role == identity.PUSHER:
            if not p.who.known:
                blocking.append(unknown_pusher(p.who.name))
            continue
        b, v = identity.commit_findings(p.role, p.who, mode, externals)
        blocking.extend(b)
        visible.extend(v)
    return list(dict.fromkeys(blocking)), list(dict.fromkeys(visible))


def unknown_pusher(name: str) -> Reason:
    return reason(Code.SOD_UNKNOWN_PUSHER, f"unknown pusher: {name} is not a directory user, so segregation of "
                                           "duties cannot be checked; this change cannot be approved")
