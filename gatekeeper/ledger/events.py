"""Typed log events: one frozen dataclass per log kind of the push and deployment record (SPEC §8, §11).

Writers build an event and log ``event.to_payload()`` under ``event.KIND``; readers call
``Event.from_payload(payload)`` instead of reading keys by string, so a renamed field fails in one
place. Payloads logged before a field existed read back with its default. Pure: no I/O.

Kinds and what they mean to an auditor (README, "The change log"):
- ``deploy.intent``: the gate allowed one protected ref update, before git moved the ref; it names
  the CRs with the revision, fingerprint and approvals (with memberships) that counted, or the
  emergency decision. Recorded in the transaction that decided.
- ``change.deployed`` / ``emergency.deployed``: the intent was confirmed — git made that update.
- ``deploy.voided``: the intent was voided — git did not make that update (lost race, a refusing
  ``update`` hook, the push refused as a whole); nothing was deployed.
- ``push.allowed``: a push whose allowed protected updates git made (logged on confirmation only).
- ``push.refused``: a refusal that happened (also one the hook made while the service was
  unreachable, delivered later from the repo's spool: ``spooled``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self

DEPLOY_INTENT = "deploy.intent"
DEPLOY_VOIDED = "deploy.voided"
CHANGE_DEPLOYED = "change.deployed"
EMERGENCY_DEPLOYED = "emergency.deployed"
PUSH_ALLOWED = "push.allowed"
PUSH_REFUSED = "push.refused"
ACCESS_SNAPSHOT = "access.snapshot"
ACCESS_REVIEW_OPENED = "access.review_opened"
ACCESS_DECIDED = "access.decided"
ACCESS_REVIEW_SIGNED = "access.review_signed"
AUTH_SIGNED_IN = "auth.signed_in"


def _plain(value: Any) -> Any:
    """Tuples → lists, nested events → payloads: what canonical JSON stores."""
    if isinstance(value, Event):
        return value.to_payload()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


@dataclass(frozen=True)
class Event:
    """Base: ``to_payload``/``from_payload`` over the dataclass fields."""

    KIND: ClassVar[str] = ""

    def to_payload(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        kw = {f.name: _frozen(payload[f.name]) for f in fields(cls) if f.name in payload}
        return cls(**kw)


@dataclass(frozen=True)
class CountedChange(Event):
    """One CR a protected update deploys, as the gate checked it (issue 11 item 1)."""

    change_id: int = 0
    revision: int = 0
    revision_id: int = 0
    fingerprint: str = ""
    # The approvals that counted at the gate: {"username", "group", "memberships": [...]}.
    approvals: tuple[Mapping[str, Any], ...] = ()
    ticket_state: str = ""         # the ITSM ticket state the gate saw ([itsm] configured), else ""


@dataclass(frozen=True)
class EmergencyGrant(Event):
    """The emergency decision, taken once by the gate (issue 11 item 6)."""

    reason: str = ""
    memberships: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class DeployIntent(Event):
    KIND: ClassVar[str] = DEPLOY_INTENT
    intent_id: int = 0
    repo: str = ""
    ref: str = ""
    old: str = ""
    new: str = ""
    pusher: str = ""
    action: str = "deploy"        # deploy | copy | no-approval | emergency
    changes: tuple[CountedChange, ...] = ()
    unapproved_ok: tuple[str, ...] = ()
    emergency: EmergencyGrant | None = None
    messages: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        base = super().from_payload(payload)
        em = payload.get("emergency")
        return cls(**{**{f.name: getattr(base, f.name) for f in fields(base)},
                      "changes": tuple(CountedChange.from_payload(c) for c in payload.get("changes") or ()),
                      "emergency": EmergencyGrant.from_payload(em) if isinstance(em, Mapping) else None})


@dataclass(frozen=True)
class DeployVoided(Event):
    KIND: ClassVar[str] = DEPLOY_VOIDED
    intent_id: int = 0
    intent_seq: int = 0
    repo: str = ""
    ref: str = ""
    old: str = ""
    new: str = ""
    actual: str | None = None     # the ref's real value when settled (None: the ref does not exist)
    reason: str = ""
    settled_by: str = "post-receive"   # post-receive | hook | reconcile
    change_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ChangeDeployed(Event):
    KIND: ClassVar[str] = CHANGE_DEPLOYED
    change_id: int | None = None
    repo: str = ""
    ref: str = ""
    old: str = ""
    new: str = ""
    revision: int | None = None
    fingerprint: str | None = None
    approvals: tuple[Mapping[str, Any], ...] = ()
    commits: tuple[str, ...] = ()
    state: str | None = None
    allowed_by_gate: bool = True
    reasons: tuple[str, ...] = ()
    intent_id: int | None = None
    intent_seq: int | None = None
    settled_by: str = "post-receive"
    note: str = ""


@dataclass(frozen=True)
class EmergencyDeployed(Event):
    KIND: ClassVar[str] = EMERGENCY_DEPLOYED
    change_id: int | None = None
    repo: str = ""
    ref: str = ""
    old: str = ""
    new: str = ""
    reason: str = ""
    deadline: str | None = None
    commits: tuple[str, ...] = ()
    memberships: tuple[Mapping[str, Any], ...] = ()
    state: str | None = None
    intent_id: int | None = None
    intent_seq: int | None = None
    settled_by: str = "post-receive"
    note: str = ""


@dataclass(frozen=True)
class RefOutcome(Event):
    """One protected ref of a push in ``push.allowed`` / ``push.refused``."""

    ref: str = ""
    old: str = ""
    new: str = ""
    allow: bool = False
    deploys: tuple[int, ...] = ()
    unapproved_ok: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    approvals: Mapping[str, Any] = field(default_factory=dict)   # str(change_id) -> counted approvals
    intent_id: int | None = None


@dataclass(frozen=True)
class _PushEvent(Event):
    repo: str = ""
    pusher: str | None = None
    push_options: tuple[str, ...] = ()
    emergency: str | None = None
    refs: tuple[RefOutcome, ...] = ()

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        base = super().from_payload(payload)
        return cls(**{**{f.name: getattr(base, f.name) for f in fields(base)},
                      "refs": tuple(RefOutcome.from_payload(r) for r in payload.get("refs") or ())})


@dataclass(frozen=True)
class PushAllowed(_PushEvent):
    KIND: ClassVar[str] = PUSH_ALLOWED
    settled_by: str = "post-receive"


@dataclass(frozen=True)
class PushRefused(_PushEvent):
    KIND: ClassVar[str] = PUSH_REFUSED
    spooled: bool = False            # refused by the hook while the service was unreachable
    refused_at: str | None = None    # when the hook refused it (spooled refusals are logged later)


# -- access review (SPEC §12, issue 24) -------------------------------------------------------------
@dataclass(frozen=True)
class Revocation(Event):
    """A right a signed access review revoked, as the next snapshots check it (``access-revocation-open``)."""

    review_id: int = 0
    row: int = 0                   # the row's position in its campaign
    decided_seq: int = 0           # the ``access.decided`` entry that revoked it
    username: str = ""
    right: str = ""
    repo: str = ""
    category: str = ""
    group: str = ""


@dataclass(frozen=True)
class AccessSnapshot(Event):
    """The resolved rights of one day, as a diff against the previous snapshot plus the SHA-256 of the
    whole set (``policy.access.rights_hash``), so every set is recomputable from the log alone."""

    KIND: ClassVar[str] = ACCESS_SNAPSHOT
    day: str = ""                              # the UTC day it stands for (one snapshot a day)
    previous_seq: int | None = None            # the snapshot it is a diff against (None: the first)
    rights_sha256: str = ""
    count: int = 0                             # rights held after this snapshot
    gained: tuple[tuple[Any, ...], ...] = ()   # ``Right.to_list()`` items
    lost: tuple[tuple[Any, ...], ...] = ()
    changed: tuple[tuple[Any, ...], ...] = ()  # same key, new name / via / disabled
    summary: Mapping[str, Any] = field(default_factory=dict)   # ``policy.access.summary``
    revocations_open: tuple[Revocation, ...] = ()
    revocations_closed: tuple[Revocation, ...] = ()
    directory: str = ""

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        base = super().from_payload(payload)
        return cls(**{**{f.name: getattr(base, f.name) for f in fields(base)},
                      "revocations_open": tuple(Revocation.from_payload(r)
                                                for r in payload.get("revocations_open") or ()),
                      "revocations_closed": tuple(Revocation.from_payload(r)
                                                  for r in payload.get("revocations_closed") or ())})


@dataclass(frozen=True)
class AccessReviewOpened(Event):
    KIND: ClassVar[str] = ACCESS_REVIEW_OPENED
    review_id: int = 0
    repo: str = ""                  # "" = every repo
    rows: int = 0
    rows_sha256: str = ""           # ``policy.access.rows_hash`` of the rows under review
    summary: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""                  # the reviewer's name as the directory spells it


@dataclass(frozen=True)
class AccessDecided(Event):
    KIND: ClassVar[str] = ACCESS_DECIDED
    review_id: int = 0
    row: int = 0                    # position in the campaign, 1..rows
    columns: Mapping[str, Any] = field(default_factory=dict)  # the row as reviewed (``Row.to_dict``)
    decision: str = ""              # keep | revoke
    comment: str = ""
    name: str = ""


@dataclass(frozen=True)
class AccessReviewSigned(Event):
    KIND: ClassVar[str] = ACCESS_REVIEW_SIGNED
    review_id: int = 0
    repo: str = ""
    rows: int = 0
    kept: int = 0
    revoked: int = 0
    rows_sha256: str = ""
    decisions_sha256: str = ""      # over the sorted [row, decision, decided_seq] of every row
    meaning: str = ""
    comment: str = ""
    signer: str = ""
    name: str = ""
    signer_dn: str | None = None
    memberships: tuple[Mapping[str, Any], ...] = ()   # the groups that made the signer an access reviewer
    revocations: tuple[Revocation, ...] = ()          # work for the directory's owners

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        base = super().from_payload(payload)
        return cls(**{**{f.name: getattr(base, f.name) for f in fields(base)},
                      "revocations": tuple(Revocation.from_payload(r) for r in payload.get("revocations") or ())})


@dataclass(frozen=True)
class AuthSignedIn(Event):
    """A sign-in to the web pages: part of a person's ``last_activity`` (API calls count by what they do)."""

    KIND: ClassVar[str] = AUTH_SIGNED_IN
    username: str = ""
    client: str = ""


BY_KIND: dict[str, type[Event]] = {cls.KIND: cls for cls in (
    DeployIntent, DeployVoided, ChangeDeployed, EmergencyDeployed, PushAllowed, PushRefused,
    AccessSnapshot, AccessReviewOpened, AccessDecided, AccessReviewSigned, AuthSignedIn)}


def parse(kind: str, payload: Mapping[str, Any]) -> Event | None:
    """The typed event of a log entry, or None for kinds this module does not type."""
    cls = BY_KIND.get(kind)
    return cls.from_payload(payload) if cls is not None else None
