"""Where a change request stands and who must act next (issue 25 item 2): decided here, once.

SPEC §2's states say what was recorded; people also need to know what *happened* and what to do:
a pending CR nobody may approve (validation errors, an author outside the category's ``authors``, an
unknown pusher) is **blocked** and waits for its author, not for approvers; a **rejected** one says
who rejected it, with which meaning and why, and that a new push reopens it; a **withdrawn** one by
whom and why; an open one whose topic branch a newer CR continues is **superseded**. The change page,
every list, the dashboard's "needs your action" and the API's change JSON ask ``status`` and show its
answer; pages word the ``Next`` step in the reader's language, the ``reason`` stays as written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from gatekeeper.policy.approvals import Signature
from gatekeeper.policy.reasons import Code, Reason, reason
from gatekeeper.policy.states import OPEN_STATES, State


class Standing(StrEnum):
    BLOCKED = "blocked"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"
    WAITING = "waiting"        # pending (or emergency): approvers may sign
    READY = "ready"            # approved: anyone allowed to push may merge it
    DONE = "done"              # deployed or retro-approved


class Actor(StrEnum):
    """Whose move it is."""

    AUTHOR = "author"
    APPROVERS = "approvers"
    NOBODY = "nobody"


class Next(StrEnum):
    """The next step, by name (pages and mails word it in the reader's language)."""

    FIX_FINDINGS = "fix_findings"            # push a new revision that fixes the validation errors
    AUTHORIZED_PUSH = "authorized_push"      # a member of the category's authors groups must push it
    KNOWN_PUSHER = "known_pusher"            # push it again as a user the directory knows
    FIX_AND_PUSH = "fix_and_push"            # another blocking finding: fix it and push again
    PUSH_OR_WITHDRAW = "push_or_withdraw"    # rejected: a new push with other content reopens it
    USE_NEWER = "use_newer"                  # superseded: continue on the newer change request
    PUSH_AGAIN = "push_again"                # withdrawn: a new push to the branch opens a new one
    SIGN = "sign"                            # approvers sign (or reject)
    RETRO = "retro"                          # emergency: approvers sign retrospectively
    MERGE = "merge"                          # approved: merge it into the target
    NONE = "none"


@dataclass(frozen=True)
class Withdrawal:
    actor: str
    reason: str
    at: str


@dataclass(frozen=True)
class StatusFacts:
    """What ``status`` needs of one CR (gathered by ``actions.status`` for one CR or a page of them)."""

    id: int
    state: str
    topic: str = ""
    target: str = ""
    blockers: tuple[Reason, ...] = ()        # ``policy.review.blockers`` of the current revision
    rejection: Signature | None = None         # the latest rejection of the current revision
    withdrawal: Withdrawal | None = None
    superseded_by: int | None = None         # the newest open CR on the same topic branch and target


@dataclass(frozen=True)
class Status:
    standing: Standing
    acts: Actor
    next: Next
    reason: Reason | None = None             # who and why, for blocked, rejected, withdrawn, superseded
    causes: tuple[Reason, ...] = ()          # blocked: each reason nobody may approve
    rejection: Signature | None = None         # the latest rejection of the current revision
    withdrawal: Withdrawal | None = None
    superseded_by: int | None = None

    @property
    def needs_author(self) -> bool:
        return self.acts == Actor.AUTHOR

    def to_dict(self) -> dict[str, object]:
        """The change JSON's ``status`` (and the pages'): plain values only."""
        return {"standing": self.standing.value, "acts": self.acts.value, "next": self.next.value,
                "reason": self.reason.to_payload() if self.reason else None,
                "causes": [c.to_payload() for c in self.causes], "superseded_by": self.superseded_by,
                "rejection": rejection_dict(self.rejection) if self.rejection else None,
                "withdrawal": vars(self.withdrawal) if self.withdrawal else None}


def rejection_dict(r: Signature) -> dict[str, object]:
    """The change JSON's ``status.rejection`` (``web.api.schemas.RejectionOut``)."""
    return {"username": r.username, "name": r.name, "meaning": r.meaning, "comment": r.comment, "at": r.signed_at}


def _blocked_next(causes: Sequence[Reason]) -> Next:
    code = causes[0].code
    if code == Code.SOD_UNAUTHORIZED_AUTHOR:
        return Next.AUTHORIZED_PUSH
    if code == Code.SOD_UNKNOWN_PUSHER:
        return Next.KNOWN_PUSHER
    if code == Code.CHANGE_VALIDATION_ERRORS or code.split(".")[0] in ("format", "path", "ticket"):
        return Next.FIX_FINDINGS
    return Next.FIX_AND_PUSH


def status(f: StatusFacts) -> Status:
    """Where the CR stands, whose move it is and what that move is. In this order: withdrawn, superseded
    (a newer CR on the same branch matters more than this one's own state), rejected, blocked, then the
    plain states."""
    state = State(f.state)
    if state == State.WITHDRAWN:
        w = f.withdrawal
        why = f"withdrawn by {w.actor}: {w.reason}" if w else "withdrawn"
        return Status(Standing.WITHDRAWN, Actor.NOBODY, Next.PUSH_AGAIN, reason(Code.CHANGE_WITHDRAWN, why),
                      withdrawal=w)
    if state in OPEN_STATES and f.superseded_by is not None:
        return Status(Standing.SUPERSEDED, Actor.AUTHOR, Next.USE_NEWER,
                      reason(Code.CHANGE_SUPERSEDED, f"change request {f.superseded_by} continues {f.topic} → "
                                                     f"{f.target}; this one will not be deployed"),
                      superseded_by=f.superseded_by)
    if state == State.REJECTED:
        r = f.rejection
        why = (f"rejected by {r.name} ({r.username}) as “{r.meaning}”: {r.comment}" if r else "rejected")
        return Status(Standing.REJECTED, Actor.AUTHOR, Next.PUSH_OR_WITHDRAW,
                      reason(Code.CHANGE_REJECTED, why + "; a new push with other content reopens it"), rejection=r)
    if state in (State.PENDING, State.EMERGENCY) and f.blockers:
        return Status(Standing.BLOCKED, Actor.AUTHOR, _blocked_next(f.blockers),
                      reason(Code.CHANGE_BLOCKED, "nobody can approve it: " + "; ".join(b.message for b in f.blockers)),
                      causes=f.blockers)
    if state == State.PENDING:
        return Status(Standing.WAITING, Actor.APPROVERS, Next.SIGN)
    if state == State.EMERGENCY:
        return Status(Standing.WAITING, Actor.APPROVERS, Next.RETRO)
    if state == State.APPROVED:
        return Status(Standing.READY, Actor.AUTHOR, Next.MERGE)
    return Status(Standing.DONE, Actor.NOBODY, Next.NONE)
