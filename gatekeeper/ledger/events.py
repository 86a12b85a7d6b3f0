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
AUDIT_RECONCILED = "audit.reconciled"
AUDIT_EXPORTED = "audit.exported"
KEY_ROTATED = "key.rotated"
WITNESS_REFUSED = "witness.refused"


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
    ticket_state: str = ""        # the ITSM ticket state the gate saw (the register's ticket_state)


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


@dataclass(frozen=True)
class _Period(Event):
    """Events with a period: the field ``from_`` is the payload key ``from`` (a Python keyword)."""

    def to_payload(self) -> dict[str, Any]:
        out = super().to_payload()
        out["from"] = out.pop("from_")
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        data = dict(payload)
        if "from" in data:
            data["from_"] = data.pop("from")
        return super().from_payload(data)


@dataclass(frozen=True)
class AuditReconciled(_Period):
    """What reconciliation against git found when a pack was built (issue 21): facts the log cannot
    derive by itself, logged so the pack's ``exceptions.csv`` is still a function of the signed log."""

    KIND: ClassVar[str] = AUDIT_RECONCILED
    from_: str = ""                               # logged as "from": the period [from, to), UTC
    to: str = ""
    rows: tuple[Mapping[str, Any], ...] = ()      # exceptions.csv rows: reconcile-gap, hook-drift
    lines: tuple[str, ...] = ()                   # the per-branch summary (verification.txt, report.html)


@dataclass(frozen=True)
class AuditExported(_Period):
    """An evidence pack was exported (SPEC §12): the period, filters, the log it was derived from and
    the SHA-256 of every file derived from it. The pack's log ends with this entry and its checkpoint
    covers it, so the tables are bound to the signed log."""

    KIND: ClassVar[str] = AUDIT_EXPORTED
    from_: str = ""                               # logged as "from": the period [from, to), UTC
    to: str = ""
    filters: Mapping[str, Any] = field(default_factory=dict)
    upto: int = 0                                 # the tables are the projection of log seqs 1..upto
    now: str = ""                                 # the instant "overdue" was judged at
    reconciled_seq: int | None = None             # the audit.reconciled entry the exceptions include
    files: Mapping[str, str] = field(default_factory=dict)   # file name -> SHA-256
    verifier_sha256: str = ""                     # the verify.py copied into the pack


@dataclass(frozen=True)
class KeyRotated(Event):
    """The checkpoint signing key was replaced (issue 21): signed by the OLD key, so a verifier that
    pins the old key id follows the chain to the new one (``ledger.keychain``)."""

    KIND: ClassVar[str] = KEY_ROTATED
    old_key_id: str = ""
    new_key_id: str = ""
    old_public_key: str = ""                      # PEM: the key that signs this rotation
    new_public_key: str = ""                      # PEM (SubjectPublicKeyInfo)
    signature: str = ""                           # base64 Ed25519 by the old key (ledger.keychain.message)


@dataclass(frozen=True)
class WitnessRefused(Event):
    """A witness did not cosign a checkpoint (SPEC §12): shown to the service's admins on /audit."""

    KIND: ClassVar[str] = WITNESS_REFUSED
    witness: str = ""
    url: str = ""
    size: int = 0                                 # the checkpoint's tree size
    status: int | None = None                     # the HTTP status (None: unreachable)
    reason: str = ""


BY_KIND: dict[str, type[Event]] = {cls.KIND: cls for cls in (
    DeployIntent, DeployVoided, ChangeDeployed, EmergencyDeployed, PushAllowed, PushRefused, AuditReconciled,
    AuditExported, KeyRotated, WitnessRefused)}


def parse(kind: str, payload: Mapping[str, Any]) -> Event | None:
    """The typed event of a log entry, or None for kinds this module does not type."""
    cls = BY_KIND.get(kind)
    return cls.from_payload(payload) if cls is not None else None
