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
from gatekeeper.directory import identify
from gatekeeper.ledger.events import Reason
from gatekeeper.policy import review as policy_review
from gatekeeper.policy import rules as policy_rules
from gatekeeper.policy import sod
from gatekeeper.policy.approvals import Signature, counting
from gatekeeper.policy.identity import AUTHOR, CO_AUTHOR, COMMITTER, PUSHER
from gatekeeper.policy.people import Membership, User
from gatekeeper.policy.review import ChangeFacts, Review, Signing
from gatekeeper.policy.rules import ApprovalRule, Category
from gatekeeper.store import changes as q
from gatekeeper.store.tables import ChangeRequest, Revision


def categories_of(services: Services, cr: ChangeRequest) -> list[Category]:
    names = q.loads(cr.categories)
    return [c for c in services.config.categories if c.name in names]


def rules_of(services: Services, cr: ChangeRequest) -> tuple[ApprovalRule, ...]:
    return policy_rules.merge_rules(categories_of(services, cr))


def meanings_of(services: Services, cr: ChangeRequest, decision: str = policy_rules.APPROVE) -> list[str]:
    """The meanings a signature with ``decision`` may carry on ``cr`` (``policy.rules.meanings``)."""
    return policy_rules.meanings(categories_of(services, cr), decision)


def people_of(services: Services, session: Session, cr: ChangeRequest,
              revisions: Sequence[Revision] | None = None, *, commits: bool = True) -> list[sod.Person]:
    """Every pusher of a revision and (``commits``) every author, committer and co-author of a commit
    in the CR, each resolved once now against the directory (``directory.identify``): pushers by the
    name stored (the directory's own spelling, written at the door), commit people by address."""
    d = services.directory
    pushers: list[str] = []
    seen: list[tuple[str, str, str]] = []
    for rev in q.revisions(session, cr.id or 0) if revisions is None else revisions:
        pushers.append(rev.pushed_by)
        for c in q.loads(rev.commits) if commits else ():
            seen.append((AUTHOR, c.get("author_email") or "", c.get("author_name") or ""))
            seen.append((COMMITTER, c.get("committer_email") or "", c.get("committer_name") or ""))
            seen.extend((CO_AUTHOR, v, "") for v in c.get("co_authors", []))
    people = [sod.Person(PUSHER, identify.resolve_username(d, name)) for name in dict.fromkeys(pushers)]
    for role, given, name in dict.fromkeys(seen):
        who = (identify.resolve_co_author(d, given) if role == CO_AUTHOR
               else identify.resolve_address(d, given, name))
        people.append(sod.Person(role, who))
    return list(dict.fromkeys(people))


def facts(services: Services, session: Session, cr: ChangeRequest, rev: Revision | None = None, *,
          revisions: Sequence[Revision] | None = None, approvals: Sequence[Signature] | None = None,
          need_emails: bool = True) -> ChangeFacts:
    """The facts of ``cr`` at its current revision, asked of the store and the directory now.

    ``revisions`` / ``approvals``: the CR's rows when the caller read them for many CRs at once;
    ``need_emails=False`` skips resolving the commits' people when no approval needs re-checking (the gate).
    """
    if rev is None and revisions is not None:
        rev = next((r for r in revisions if r.number == cr.current_revision), None)
    rev = rev or q.current_revision(session, cr)
    rows = q.approvals(session, cr.id or 0) if approvals is None else approvals
    given = tuple(counting(rows, rev.fingerprint, rev.ticket))
    people = people_of(services, session, cr, revisions, commits=need_emails or bool(given))
    sod_cfg = services.config.sod
    blocking, visible = sod.identity_findings(people, sod_cfg.unknown_commit_identity, sod_cfg.external_identities)
    signers: dict[str, tuple[User | None, tuple[Membership, ...]]] = {}
    for a in given:
        if a.username not in signers:
            user = services.directory.get_user(a.username)
            signers[a.username] = (user, tuple(services.directory.memberships(user.username)) if user else ())
    stored = tuple(Reason.coerce(f) for f in q.loads(rev.sod_findings))  # bare sentences: before reason codes
    return ChangeFacts(
        id=cr.id or 0, state=cr.state, revision=rev.number, revision_id=rev.id or 0, fingerprint=rev.fingerprint,
        rules=rules_of(services, cr), given=given, signers=signers, people=tuple(people),
        errors=tuple(f for f in q.loads(rev.findings) if f.get("severity") == "error"),
        blocking=tuple(dict.fromkeys([*stored, *blocking])), visible=tuple(visible))


def review(services: Services, session: Session, cr: ChangeRequest, rev: Revision | None = None, *,
           revisions: Sequence[Revision] | None = None, approvals: Sequence[Signature] | None = None) -> Review:
    """``policy.review.review`` of the CR's facts now."""
    return policy_review.review(facts(services, session, cr, rev, revisions=revisions, approvals=approvals))


def signing(services: Services, session: Session, cr: ChangeRequest, signer: User,
            current: Review | None = None, requested_group: str | None = None) -> Signing:
    """``policy.review.signing_blockers`` for ``signer`` (one place for the API, the page, the dashboard)."""
    current = current or review(services, session, cr)
    memberships = services.directory.memberships(signer.username)
    return policy_review.signing_blockers(current, signer, memberships, requested_group)
