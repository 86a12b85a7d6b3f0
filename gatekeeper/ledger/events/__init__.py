"""Every log kind, typed: one registry (``BY_KIND``), one parser (``parse``). Pure: no I/O.

Writers build an event and hand it to ``store.log.append``, which logs ``event.to_payload()`` under
``event.KIND``; readers call ``parse(kind, payload)`` (or ``<Event>.from_payload``) and read fields,
never payload keys. Payloads written before a field existed read back with its default; reasons
logged as bare sentences read back with a code (``ledger.legacy``).

To add a kind: a frozen dataclass subclassing ``Event`` with ``KIND`` and its fields (defaults for
all, so older payloads parse), in the module of its area, listed in ``KINDS`` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.ledger.events.access import (
    ACCESS_DECIDED,
    ACCESS_REVIEW_OPENED,
    ACCESS_REVIEW_SIGNED,
    ACCESS_SNAPSHOT,
    AccessDecided,
    AccessReviewOpened,
    AccessReviewSigned,
    AccessSnapshot,
    Revocation,
)
from gatekeeper.ledger.events.audit import (
    AUDIT_EXPORTED,
    AUDIT_RECONCILED,
    KEY_ROTATED,
    WITNESS_REFUSED,
    AuditExported,
    AuditReconciled,
    KeyRotated,
    WitnessRefused,
)
from gatekeeper.ledger.events.base import Event, Reason, Record, omitted_when_default
from gatekeeper.ledger.events.changes import (
    CHANGE_APPROVED,
    CHANGE_COMMENTED,
    CHANGE_OPENED,
    CHANGE_REJECTED,
    CHANGE_REVISED,
    CHANGE_WITHDRAWN,
    SIGN_REFUSED,
    ChangeApproved,
    ChangeCommented,
    ChangeOpened,
    ChangeRejected,
    ChangeRevised,
    ChangeWithdrawn,
    FileRecord,
    SignRefused,
)
from gatekeeper.ledger.events.drift import (
    DRIFT_CHECKED,
    DRIFT_CLEARED,
    DRIFT_DETECTED,
    DRIFT_ERROR,
    DriftChecked,
    DriftCleared,
    DriftDetected,
    DriftError,
)
from gatekeeper.ledger.events.push import (
    CHANGE_DEPLOYED,
    DEPLOY_INTENT,
    DEPLOY_VOIDED,
    EMERGENCY_DEPLOYED,
    PUSH_ALLOWED,
    PUSH_REFUSED,
    ChangeDeployed,
    CountedChange,
    DeployIntent,
    DeployVoided,
    EmergencyDeployed,
    EmergencyGrant,
    PushAllowed,
    PushRefused,
    RefOutcome,
)
from gatekeeper.ledger.events.system import (
    AUTH_LOCKED,
    AUTH_SIGNED_IN,
    CONFIG_LOADED,
    HOOKS_ATTESTED,
    KEY_CREATED,
    LOG_CHECKPOINT,
    NOTIFY_FAILED,
    NOTIFY_SENT,
    SESSION_REVOKED,
    AuthLocked,
    AuthSignedIn,
    ConfigLoaded,
    HooksAttested,
    KeyCreated,
    LogCheckpoint,
    NotifyFailed,
    NotifySent,
    SessionRevoked,
)

KINDS: tuple[type[Event], ...] = (
    ChangeOpened, ChangeRevised, ChangeApproved, ChangeRejected, SignRefused, ChangeWithdrawn, ChangeCommented,
    DeployIntent, DeployVoided, ChangeDeployed, EmergencyDeployed, PushAllowed, PushRefused,
    ConfigLoaded, HooksAttested, LogCheckpoint, KeyCreated, AuthLocked, AuthSignedIn, SessionRevoked, NotifySent,
    NotifyFailed, DriftChecked, DriftDetected, DriftCleared, DriftError,
    AccessSnapshot, AccessReviewOpened, AccessDecided, AccessReviewSigned,
    AuditReconciled, AuditExported, KeyRotated, WitnessRefused,
)
BY_KIND: dict[str, type[Event]] = {cls.KIND: cls for cls in KINDS}


def parse(kind: str, payload: Mapping[str, Any]) -> Event:
    """The typed event of a log entry. A kind no version of Gatekeeper wrote is an error (``KeyError``)."""
    return BY_KIND[kind].from_payload(payload)


__all__ = [
    "ACCESS_DECIDED",
    "ACCESS_REVIEW_OPENED",
    "ACCESS_REVIEW_SIGNED",
    "ACCESS_SNAPSHOT",
    "AUDIT_EXPORTED",
    "AUDIT_RECONCILED",
    "AUTH_LOCKED",
    "AUTH_SIGNED_IN",
    "BY_KIND",
    "CHANGE_APPROVED",
    "CHANGE_COMMENTED",
    "CHANGE_DEPLOYED",
    "CHANGE_OPENED",
    "CHANGE_REJECTED",
    "CHANGE_REVISED",
    "CHANGE_WITHDRAWN",
    "CONFIG_LOADED",
    "DEPLOY_INTENT",
    "DEPLOY_VOIDED",
    "DRIFT_CHECKED",
    "DRIFT_CLEARED",
    "DRIFT_DETECTED",
    "DRIFT_ERROR",
    "EMERGENCY_DEPLOYED",
    "HOOKS_ATTESTED",
    "KEY_CREATED",
    "KEY_ROTATED",
    "KINDS",
    "LOG_CHECKPOINT",
    "NOTIFY_FAILED",
    "NOTIFY_SENT",
    "PUSH_ALLOWED",
    "PUSH_REFUSED",
    "SESSION_REVOKED",
    "SIGN_REFUSED",
    "WITNESS_REFUSED",
    "AccessDecided",
    "AccessReviewOpened",
    "AccessReviewSigned",
    "AccessSnapshot",
    "AuditExported",
    "AuditReconciled",
    "AuthLocked",
    "AuthSignedIn",
    "ChangeApproved",
    "ChangeCommented",
    "ChangeDeployed",
    "ChangeOpened",
    "ChangeRejected",
    "ChangeRevised",
    "ChangeWithdrawn",
    "ConfigLoaded",
    "CountedChange",
    "DeployIntent",
    "DeployVoided",
    "DriftChecked",
    "DriftCleared",
    "DriftDetected",
    "DriftError",
    "EmergencyDeployed",
    "EmergencyGrant",
    "Event",
    "FileRecord",
    "HooksAttested",
    "KeyCreated",
    "KeyRotated",
    "LogCheckpoint",
    "NotifyFailed",
    "NotifySent",
    "PushAllowed",
    "PushRefused",
    "Reason",
    "Record",
    "RefOutcome",
    "Revocation",
    "SessionRevoked",
    "SignRefused",
    "WitnessRefused",
    "omitted_when_default",
    "parse",
]
