"""Who took part in a CR, which rules apply, and which given approvals still count.

Shared by signing (SPEC §3: "at the moment of signing") and the gate ("and again at the gate"), so
both decide with the same code and today's directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from gatekeeper.actions.context import Services
from gatekeeper.config import ApprovalRule, Category
from gatekeeper.directory.base import Membership, User
from gatekeeper.policy import sod
from gatekeeper.policy.categories import merge_rules
from gatekeeper.store import changes as q
from gatekeeper.store.tables import Approval, ChangeRequest, Revision


def categories_of(services: Services, cr: ChangeRequest) -> list[Category]:
    names = q.loads(cr.categories)
    return [c for c in services.config.categories if c.name in names]


def rules_of(services: Services, cr: ChangeRequest) -> tuple[ApprovalRule, ...]:
    return merge_rules(categories_of(services, cr))


def meanings_of(services: Services, cr: ChangeRequest) -> list[str]:
    seen: dict[str, None] = {}
    for cat in categories_of(services, cr):
        if cat.approvals:
            seen.update(dict.fromkeys(cat.meanings))
    return list(seen) or ["Reviewed and approved"]


def people_of(session: Session, cr: ChangeRequest, revisions: Sequence[Revision] | None = None) -> list[sod.Person]:
    """Every pusher of a revision and every author, committer and co-author of a commit in the CR,
    pushers as stored (``review`` resolves them through the directory again)."""
    people: list[sod.Person] = []
    for rev in q.revisions(session, cr.id or 0) if revisions is None else revisions:
        people.append(sod.Person("pusher", username=rev.pushed_by))
        for c in q.loads(rev.commits):
            people.append(sod.Person("author", email=c.get("author_email")))
            people.append(sod.Person("committer", email=c.get("committer_email")))
            people.extend(sod.Person("co-author", email=e) for e in c.get("co_authors", []))
    return list(dict.fromkeys(people))


def canonical_people(services: Services, people: Sequence[sod.Person]
                     ) -> tuple[list[sod.Person], dict[str, str | None]]:
    """Pushers resolved to the directory's spelling now (a name stored as typed before canonical
    names existed, or renamed since, still compares as the same person); returns the people and
    ``{stored name: canonical or None}``."""
    known = {p.username: services.directory.canonical(p.username) for p in people
             if p.role == "pusher" and p.username}
    out = [sod.Person(p.role, username=known.get(p.username) or p.username, email=p.email)
           if p.role == "pusher" and p.username else p for p in people]
    return list(dict.fromkeys(out)), known


def email_map(services: Services, people: Sequence[sod.Person]) -> dict[str, str]:
    """Commit emails matched to directory users (fresh lookups)."""
    out: dict[str, str] = {}
    for p in people:
        email = (p.email or "").strip().lower()
        if email and "@" in email and email not in out:
            user = services.directory.find_by_email(email)
            if user:
                out[email] = user.username
    return out


@dataclass(frozen=True)
class Review:
    """The state of a CR's approvals right now, re-checked against the directory."""

    rules: tuple[ApprovalRule, ...]
    slots: tuple[sod.Slot, ...]
    findings: tuple[str, ...]
    missing: tuple[tuple[str, int], ...]
    errors: tuple[dict[str, str], ...]
    author_findings: tuple[str, ...]
    memberships: dict[str, list[Membership]]
    people: tuple[sod.Person, ...] = ()
    emails: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors and not self.author_findings

    def problems(self) -> list[str]:
        out = []
        if self.errors:
            e = self.errors[0]
            out.append(f"has {len(self.errors)} validation error(s), first: {e['path']} {e['location']}: "
                       f"{e['message']}")
        out.extend(self.author_findings)
        if self.missing:
            out.append("lacks " + sod.describe_missing(self.missing))
        out.extend(self.findings)
        return out


def review(services: Services, session: Session, cr: ChangeRequest, rev: Revision | None = None, *,
           revisions: Sequence[Revision] | None = None, approvals: Sequence[Approval] | None = None) -> Review:
    """``revisions`` / ``approvals``: the CR's rows when the caller read them for many CRs at once."""
    if rev is None and revisions is not None:
        rev = next((r for r in revisions if r.number == cr.current_revision), None)
    rev = rev or q.current_revision(session, cr)
    rules = rules_of(services, cr)
    people, known = canonical_people(services, people_of(session, cr, revisions))
    emap = email_map(services, people)
    blocking, visible = sod.identity_findings(people, known, emap)
    given = [sod.GivenApproval(a.username, a.group)
             for a in (q.approvals(session, cr.id or 0) if approvals is None else approvals)
             if a.decision == "approve" and a.fingerprint == rev.fingerprint]
    signers: dict[str, tuple[User | None, list[Membership]]] = {}
    for a in given:
        if a.username not in signers:
            user = services.directory.get_user(a.username)
            signers[a.username] = (user, services.directory.memberships(user.username) if user else [])
    slots, findings = sod.recheck(given, signers, people, emap, rules)
    errors = tuple(f for f in q.loads(rev.findings) if f.get("severity") == "error")
    return Review(rules=rules, slots=tuple(slots), findings=tuple([*findings, *visible]),
                  missing=tuple(sod.missing(rules, slots)), errors=errors,
                  author_findings=tuple(dict.fromkeys([*q.loads(rev.sod_findings), *blocking])),
                  memberships={u: list(m) for u, (_, m) in signers.items()},
                  people=tuple(people), emails=emap)


def signing(services: Services, session: Session, cr: ChangeRequest, signer: User,
            current: Review | None = None, requested_group: str | None = None) -> sod.Signing:
    """Gathers the inputs of ``sod.signing_blockers`` (one place for the API, the page, the dashboard)."""
    current = current or review(services, session, cr)
    return sod.signing_blockers(
        state=cr.state, errors=len(current.errors), author_findings=current.author_findings, signer=signer,
        memberships=services.directory.memberships(signer.username), people=current.people,
        email_to_user=current.emails, rules=current.rules, filled=current.slots, requested_group=requested_group)
