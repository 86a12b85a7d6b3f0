"""Log kinds of a change request's life (SPEC §2, §3, §10): opened, revised, signed, refused, withdrawn,
commented."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from gatekeeper.ledger.events.base import Event, Reason, Record, omitted_when_default

CHANGE_OPENED = "change.opened"
CHANGE_REVISED = "change.revised"
CHANGE_APPROVED = "change.approved"
CHANGE_REJECTED = "change.rejected"
CHANGE_WITHDRAWN = "change.withdrawn"
SIGN_REFUSED = "change.sign_refused"  # a signature refused for segregation of duties (the 403)
CHANGE_COMMENTED = "change.commented"  # a comment in a change request's discussion (issue 25)


@dataclass(frozen=True)
class FileRecord(Record):
    """One file of a revision as logged: its path, git's status and the categories it falls in."""

    path: str = ""
    status: str = ""
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Revision(Event):
    """A topic push recorded as a CR revision."""

    change_id: int = 0
    repo: str = ""
    topic_ref: str = ""
    target: str = ""
    revision: int = 0
    fingerprint: str = ""
    head: str = ""
    base: str | None = None
    pusher: str = ""
    title: str = ""
    ticket: str = ""
    files: tuple[FileRecord, ...] = ()
    errors: int = 0
    warnings: int = 0
    author_memberships: tuple[Mapping[str, Any], ...] = ()
    sod_findings: tuple[Reason, ...] = ()
    state: str = ""
    approvals_kept: bool | None = None      # revision 1: None; later: same fingerprint as before
    emergency_reason: str | None = omitted_when_default()
    # What the register shows, logged so the evidence pack derives it from the log (issue 21); entries
    # logged before carry none of the three (the register then says the rules are "not in the log").
    categories: tuple[str, ...] = ()
    financial: bool = False
    approvals_required: tuple[Mapping[str, Any], ...] = ()   # the rules in force for this revision
    ticket_changed: bool = omitted_when_default(False)      # a new ticket: approvals reset (issue 22 item 5)
    title_was: str | None = omitted_when_default()      # the title before this revision, when it changed
    description: str = omitted_when_default("")         # ``gatekeeper.description`` (issue 25)


@dataclass(frozen=True)
class ChangeOpened(_Revision):
    KIND: ClassVar[str] = CHANGE_OPENED


@dataclass(frozen=True)
class ChangeRevised(_Revision):
    KIND: ClassVar[str] = CHANGE_REVISED


@dataclass(frozen=True)
class _Signature(Event):
    """One electronic signature (SPEC §10): signer, group, meaning, comment, memberships, state after it."""

    change_id: int = 0
    revision: int = 0
    fingerprint: str = ""
    signer: str = ""
    name: str = ""
    signer_dn: str | None = None
    group: str | None = None
    decision: str = ""
    meaning: str = ""
    comment: str = ""
    memberships: tuple[Mapping[str, Any], ...] = ()
    state: str = ""
    ticket: str | None = omitted_when_default()         # the ticket signed for (SPEC §12 Meanings; issue 22)
    ticket_state: str | None = omitted_when_default()   # with [itsm]: the state it was in
    title: str = omitted_when_default("")               # the revision's title signed for (SPEC §12, issue 25)
    target: str | None = omitted_when_default()         # the target branch the signer was shown (issue 22 item 5)


@dataclass(frozen=True)
class ChangeApproved(_Signature):
    KIND: ClassVar[str] = CHANGE_APPROVED


@dataclass(frozen=True)
class ChangeRejected(_Signature):
    KIND: ClassVar[str] = CHANGE_REJECTED


@dataclass(frozen=True)
class SignRefused(Event):
    """A signature refused (the 403), logged after the refused transaction rolled back: an auditor counts
    them (the metrics' ``sod_refusals``)."""

    KIND: ClassVar[str] = SIGN_REFUSED
    change_id: int = 0
    signer: str = ""
    decision: str = ""
    group: str | None = None
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class ChangeWithdrawn(Event):
    KIND: ClassVar[str] = CHANGE_WITHDRAWN
    change_id: int = 0
    reason: str = ""                 # the withdrawer's own words (or why the service withdrew it)
    state: str = ""


@dataclass(frozen=True)
class ChangeCommented(Event):
    """A comment in a change request's discussion, on the whole change or on one file (``path``); the
    log is where the thread lives (the page, the mail and the evidence pack's ``comments.csv`` read it)."""

    KIND: ClassVar[str] = CHANGE_COMMENTED
    change_id: int = 0
    revision: int = 0
    path: str | None = omitted_when_default()
    commenter: str = ""
    name: str = ""
    comment: str = ""
