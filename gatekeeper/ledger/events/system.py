"""Log kinds about the system itself (SPEC §8, §10, §11): the policy, the hooks, the log's own
checkpoints and key, access (locks, sessions) and notification deliveries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatekeeper.ledger.events.base import Event, omitted_when_default

CONFIG_LOADED = "config.loaded"
HOOKS_ATTESTED = "hooks.attested"
LOG_CHECKPOINT = "log.checkpoint"
KEY_CREATED = "key.created"
AUTH_LOCKED = "auth.locked"
AUTH_SIGNED_IN = "auth.signed_in"
SESSION_REVOKED = "session.revoked"
NOTIFY_SENT = "notify.sent"
NOTIFY_FAILED = "notify.failed"


@dataclass(frozen=True)
class ConfigLoaded(Event):
    """The policy the service started with, when it differs from the last one logged (its text too)."""

    KIND: ClassVar[str] = CONFIG_LOADED
    path: str = ""
    sha256: str = ""
    size: int = 0
    policy: str | None = None


@dataclass(frozen=True)
class HooksAttested(Event):
    """What ``install-hooks`` installed in one bare repo: each hook file's SHA-256 and the git settings."""

    KIND: ClassVar[str] = HOOKS_ATTESTED
    repo: str = ""
    path: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    git_config: Mapping[str, str] = field(default_factory=dict)
    sha256: str = ""
    layout: str = omitted_when_default("plain")
    chained: tuple[str, ...] | None = omitted_when_default()


@dataclass(frozen=True)
class LogCheckpoint(Event):
    """A signed checkpoint of the log head (``ledger.checkpoint.Checkpoint``'s fields)."""

    KIND: ClassVar[str] = LOG_CHECKPOINT
    seq: int = 0
    hash: str = ""
    ts: str = ""
    key_id: str = ""
    signature: str = ""
    note: str = omitted_when_default("")   # the C2SP note of the tree of seqs 1..seq (SPEC §12)


@dataclass(frozen=True)
class KeyCreated(Event):
    """A checkpoint signing key the service uses, logged once per key (SPEC §10)."""

    KIND: ClassVar[str] = KEY_CREATED
    key_id: str = ""
    algorithm: str = "Ed25519"
    public_key: str = ""
    created_now: bool = False


@dataclass(frozen=True)
class AuthLocked(Event):
    """Too many wrong passwords: a lock imposed on a name (from every client) or a name and client."""

    KIND: ClassVar[str] = AUTH_LOCKED
    username: str = ""
    typed: str = ""
    client: str = ""
    lock: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthSignedIn(Event):
    """A sign-in to the web pages: part of a person's ``last_activity`` (API calls count by what they do)."""

    KIND: ClassVar[str] = AUTH_SIGNED_IN
    username: str = ""
    client: str = ""


@dataclass(frozen=True)
class SessionRevoked(Event):
    """An administrator signed someone out everywhere (issue 12)."""

    KIND: ClassVar[str] = SESSION_REVOKED
    username: str = ""
    sessions: int = 0
    via: str = ""


@dataclass(frozen=True)
class _Delivery(Event):
    """One notification delivery's outcome (issue 14): never a secret or a webhook URL."""

    delivery_id: str = ""
    event: str = ""
    channel: str = ""
    recipient: str = ""
    change_id: int | None = None
    event_seq: int | None = None
    attempts: int = 0


@dataclass(frozen=True)
class NotifySent(_Delivery):
    KIND: ClassVar[str] = NOTIFY_SENT


@dataclass(frozen=True)
class NotifyFailed(_Delivery):
    KIND: ClassVar[str] = NOTIFY_FAILED
    error: str = ""
