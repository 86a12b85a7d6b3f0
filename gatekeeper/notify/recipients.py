"""Who gets an e-mail for an event (issue 14), decided when the mail is delivered, not when enqueued.

- ``change.waiting``, ``emergency.opened``: exactly the people who may sign now — the members of the
  CR's approving groups for whom ``actions.review.signing`` allows it (the dashboard's "approvals waiting for me").
- ``change.approved``, ``change.rejected``, ``change.deployed``: the author (who requested the CR).
- ``change.commented``: the author and everyone who signed or commented on the CR, never the commenter.
- ``retro.due``, ``retro.overdue``: the emergency group and the admins (``roles``).
- ``push.refused``: the pusher; ``drift.detected``: the admins.
- ``access.review_signed``, ``access.revocation_open``: the admins and the access reviewers (the
  revocations are work for whoever administers the directory; Gatekeeper never writes to it).
Reminders about retrospective approval and emergencies are mandatory (a user's opt-out does not
stop them); the rest can be opted out of or collected into a daily digest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from gatekeeper.actions import review as rv
from gatekeeper.actions.context import Services
from gatekeeper.notify.events import Snapshot
from gatekeeper.policy.notices import MANDATORY, Notice
from gatekeeper.policy.people import User
from gatekeeper.policy.states import not_signable
from gatekeeper.store.tables import ChangeRequest


@dataclass(frozen=True)
class Recipient:
    user: User
    mandatory: bool


def signers_now(services: Services, session: Session, cr: ChangeRequest) -> list[User]:
    """Members of the CR's approving groups who may sign it now: ``actions.review.signing`` (the one
    ``sod.signing_blockers`` decision the API, the change page and the dashboard use)."""
    if not_signable(cr.state) is not None:
        return []
    review = rv.review(services, session, cr)
    seen: dict[str, User] = {}
    for rule in review.rules:
        for user, _ in services.directory.group_members(rule.group):
            if user.username not in seen and rv.signing(services, session, cr, user, review).may_approve:
                seen[user.username] = user
    return list(seen.values())


def _members(services: Services, groups: Iterable[str]) -> list[User]:
    seen: dict[str, User] = {}
    for group in groups:
        for user, _ in services.directory.group_members(group):
            seen.setdefault(user.username, user)
    return list(seen.values())


def for_event(services: Services, session: Session, event: str, cr: ChangeRequest | None,
              snap: Snapshot) -> list[Recipient]:
    roles = services.config.roles
    users: list[User] = []
    if event in (Notice.WAITING, Notice.EMERGENCY_OPENED) and cr is not None:
        users = signers_now(services, session, cr)
    elif event in (Notice.APPROVED, Notice.REJECTED, Notice.DEPLOYED) and cr is not None:
        author = services.directory.get_user(cr.requested_by)
        users = [author] if author else []
    elif event == Notice.COMMENTED and cr is not None:
        from gatekeeper.actions.comments import participants

        names = [n for n in dict.fromkeys([cr.requested_by, *participants(session, cr.id or 0)]) if n != snap.commenter]
        users = [u for n in names if (u := services.directory.get_user(n)) is not None]
    elif event in (Notice.RETRO_DUE, Notice.RETRO_OVERDUE):
        users = _members(services, [*roles.emergency, *roles.admins])
    elif event == Notice.PUSH_REFUSED:
        pusher = services.directory.get_user(snap.pusher or "")
        users = [pusher] if pusher else []
    elif event == Notice.DRIFT_DETECTED:
        users = _members(services, roles.admins)
    elif event in (Notice.ACCESS_REVIEW_SIGNED, Notice.ACCESS_REVOCATION_OPEN):
        users = _members(services, [*roles.admins, *roles.access_reviewers])
    return [Recipient(u, event in MANDATORY) for u in users if u.email]
