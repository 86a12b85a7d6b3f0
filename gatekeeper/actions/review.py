"""The facts of a CR, gathered in one place: who took part, which rules apply, which approvals were
given, and what the directory says about the people now (``policy.review.ChangeFacts``).

Signing (SPEC §3: "at the moment of signing"), the change page, the notifications and the gate
("and again at the gate") all decide from these facts with the same pure code (``policy.review``,
``policy.gate``) and today's directory.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from gatekeeper.actions.context import Services
from gatekeeper.ledger.events import Reason
from gatekeeper.policy import review as policy_review
from gatekeeper.policy import rules as policy_rules
from gatekeeper.policy import sod
from gatekeeper.policy.approvals import GivenApproval, counting
from gatekeeper.policy.people import Membership, User
from gatekeeper.policy.review import ChangeFacts, Review, Signing
from gatekeeper.policy.rules import ApprovalRule, Category
from gatekeeper.store import changes as q
from gatekeeper.store.tables import Approval, ChangeRequest, Revision


def categories_of(services: Services, cr: ChangeRequest) -> list[Category]:
    names = q.loads(cr.categories)
    return [c for c in services.config.categories if c.name in names]


def rules_of(services: Services, cr: ChangeRequest) -> tuple[ApprovalRule, ...]:
    return policy_rules.merge_rules(categories_of(services, cr))


def meanings_of(services: Services, cr: ChangeRequest, decision: str = policy_rules.APPROVE) -> list[str]:
    """The meanings a signature with ``decision`` may carry on ``cr`` (``policy.rules.meanings``)."""
    return policy_rules.meanings(categories_of(services, cr), decision)


def people_of(session: Session, cr: ChangeRequest, revisions: Sequence[Revision] | None = None) -> list[sod.Person]:
    """Every pusher of a revision and every author, committer and co-author of a commit in the CR,
    pushers as stored (``facts`` resolves them through the directory again)."""
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


def facts(services: Services, session: Session, cr: ChangeRequest, rev: Revision | None = None, *,
          revisions: Sequence[Revision] | None = None, approvals: Sequence[Approval] | None = None,
          need_emails: bool = True) -> ChangeFacts:
    """The facts of ``cr`` at its current revision, asked of the store and the directory now.

    ``revisions`` / ``approvals``: the CR's rows when the caller read them for many CRs at once;
    ``need_emails=False`` skips matching commit emails when no approval needs re-checking (the gate).
    """
    if rev is None and revisions is not None:
        rev = next((r for r in revisions if r.number == cr.current_revision), None)
    rev = rev or q.current_revision(session, cr)
    people, known = canonical_people(services, people_of(session, cr, revisions))
    given = tuple(GivenApproval(a.username, a.group) for a in counting(
        q.approvals(session, cr.id or 0) if approvals is None else approvals, rev.fingerprint))
    emails = email_map(services, people) if need_emails or given else {}
    blocking, visible = sod.identity_findings(people, known, emails)
    signers: dict[str, tuple[User | None, tuple[Membership, ...]]] = {}
    for a in given:
        if a.username not in signers:
            user = services.directory.get_user(a.username)
            signers[a.username] = (user, tuple(services.directory.memberships(user.username)) if user else ())
    stored = tuple(Reason.coerce(f) for f in q.loads(rev.sod_findings))  # bare sentences: before reason codes
    return ChangeFacts(
        id=cr.id or 0, state=cr.state, revision=rev.number, revision_id=rev.id or 0, fingerprint=rev.fingerprint,
        rules=rules_of(services, cr), given=given, signers=signers, people=tuple(people), emails=emails,
        errors=tuple(f for f in q.loads(rev.findings) if f.get("severity") == "error"),
        blocking=tuple(dict.fromkeys([*stored, *blocking])), visible=tuple(visible))


def review(services: Services, session: Session, cr: ChangeRequest, rev: Revision | None = None, *,
           revisions: Sequence[Revision] | None = None, approvals: Sequence[Approval] | None = None) -> Review:
    """``policy.review.review`` of the CR's facts now."""
    return policy_review.review(facts(services, session, cr, rev, revisions=revisions, approvals=approvals))


def signing(services: Services, session: Session, cr: ChangeRequest, signer: User,
            current: Review | None = None, requested_group: str | None = None) -> Signing:
    """``policy.review.signing_blockers`` for ``signer`` (one place for the API, the page, the dashboard)."""
    current = current or review(services, session, cr)
    memberships = services.directory.memberships(signer.username)
    return policy_review.signing_blockers(current, signer, memberships, requested_group)
