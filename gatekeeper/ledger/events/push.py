"""Log kinds of the push and deployment record (SPEC §7, §8, §11).

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
- ``deploy.unproven``: a later run could not tell whether git made the intent's update (the ref has
  no reflog covering it); the intent stays open and is an exception until proven.
- ``ref.updated``: updates of refs the gate does not decide (unprotected tags, refs listed in
  ``other_refs``, topic branches no change request entry records): every ref update is in the log.
- ``hook.state_rejected``: a file of the hook's state (a spooled refusal, a deploy-intent note) or
  settle facts that failed their seal or did not match the intent; set aside, never trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatekeeper.ledger.events.base import Event, Reason, Record, omitted_when_default

DEPLOY_INTENT = "deploy.intent"
DEPLOY_VOIDED = "deploy.voided"
CHANGE_DEPLOYED = "change.deployed"
EMERGENCY_DEPLOYED = "emergency.deployed"
PUSH_ALLOWED = "push.allowed"
PUSH_REFUSED = "push.refused"
DEPLOY_UNPROVEN = "deploy.unproven"
REF_UPDATED = "ref.updated"
HOOK_STATE_REJECTED = "hook.state_rejected"


@dataclass(frozen=True)
class CountedChange(Record):
    """One CR a protected update deploys, as the gate checked it (issue 11 item 1)."""

    change_id: int = 0
    revision: int = 0
    revision_id: int = 0
    fingerprint: str = ""
    # The approvals that counted at the gate: {"username", "group", "memberships": [...]}.
    approvals: tuple[Mapping[str, Any], ...] = ()
    ticket_state: str = ""         # the ITSM ticket state the gate saw ([itsm] configured), else ""


@dataclass(frozen=True)
class EmergencyGrant(Record):
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
    action: str = "deploy"        # deploy | copy | no-approval | emergency | tag
    changes: tuple[CountedChange, ...] = ()
    unapproved_ok: tuple[str, ...] = ()
    emergency: EmergencyGrant | None = None
    messages: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()  # the messages with their codes (SPEC §12); empty in intents logged before


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
class DeployUnproven(DeployVoided):
    """An intent a later run could not settle either way (issue 22 item 1): it stays open. The same
    fields as ``deploy.voided``; ``reason`` says why neither was proven."""

    KIND: ClassVar[str] = DEPLOY_UNPROVEN


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
    reasons: tuple[Reason, ...] = ()
    intent_id: int | None = None
    intent_seq: int | None = None
    settled_by: str = "post-receive"
    note: str = ""
    ticket_state: str | None = omitted_when_default()   # with [itsm]: the ticket state the gate saw (register)


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
class RefOutcome(Record):
    """One protected ref of a push in ``push.allowed`` / ``push.refused``."""

    ref: str = ""
    old: str = ""
    new: str = ""
    allow: bool = False
    deploys: tuple[int, ...] = ()
    unapproved_ok: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    approvals: Mapping[str, Any] = field(default_factory=dict)   # str(change_id) -> counted approvals
    intent_id: int | None = None


@dataclass(frozen=True)
class _PushEvent(Event):
    repo: str = ""
    pusher: str | None = None
    push_options: tuple[str, ...] = ()
    emergency: str | None = None
    refs: tuple[RefOutcome, ...] = ()


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
class RefChange(Record):
    """One ref update the gate does not decide, as git made it (``rule``: ``policy.refs``)."""

    ref: str = ""
    old: str = ""
    new: str = ""
    rule: str = ""


@dataclass(frozen=True)
class RefUpdated(Event):
    """Updates of refs the gate does not decide, one entry per post-receive (SPEC §12 "Refs")."""

    KIND: ClassVar[str] = REF_UPDATED
    repo: str = ""
    pusher: str = ""
    refs: tuple[RefChange, ...] = ()


@dataclass(frozen=True)
class HookStateRejected(Event):
    """A file of the hook's state, or settle facts, the service would not trust (issue 22 item 2).

    ``file``: its name under ``<bare>/gatekeeper/`` (``spool/…``, ``intents/…``); ``content``: what it
    claimed, as canonical JSON (cut at 4,000 characters), so a forged refusal is still on record.
    """

    KIND: ClassVar[str] = HOOK_STATE_REJECTED
    repo: str = ""
    file: str = ""
    state: str = ""                  # intent | spool
    reasons: tuple[Reason, ...] = ()
    content: str = ""
    intent_id: int | None = omitted_when_default()
