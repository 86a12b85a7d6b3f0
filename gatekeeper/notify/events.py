"""Which log entries are worth telling, and the outbox rows each enqueues (issue 14, SPEC §11).

``Router.enqueue`` is called by ``store.log.append`` — the only log writer — right after the entry is
inserted, on the same connection and transaction: an event and its deliveries commit together or not
at all, and no use case has to remember to notify. The row key ``(event_key, channel, target)`` with
``event_key = "log:<seq>"`` is what makes a delivery's id stable. ``notify.*`` entries map to no event,
so logging a delivery never enqueues another one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from gatekeeper.config import Config, WebhookConfig
from gatekeeper.ledger import events as ev
from gatekeeper.ledger.entry import Entry
from gatekeeper.store.tables import ChangeRequest, NotifyOutbox

NOTIFY_SENT = "notify.sent"
NOTIFY_FAILED = "notify.failed"
DRIFT_DETECTED = "drift.detected"  # logged by the drift checker (another module); told when it exists
# Payload keys kept in a delivery's snapshot (file lists and memberships stay in the log).
SNAPSHOT_KEYS = ("change_id", "repo", "target", "title", "state", "ticket", "pusher", "ref", "old", "new",
                 "reason", "deadline", "revision", "fingerprint", "signer", "name", "group", "decision",
                 "meaning", "comment", "refs", "source", "path", "summary", "errors", "emergency",
                 "review_id", "kept", "revoked", "revocations", "revocations_open", "day")
_OUTBOX = NotifyOutbox.__table__  # type: ignore[attr-defined]
_CR = ChangeRequest.__table__  # type: ignore[attr-defined]


def events_for(kind: str, payload: dict[str, Any]) -> list[str]:
    """The notification events (SPEC §11 names) a log entry stands for; ``[]`` for most kinds."""
    state = payload.get("state")
    if kind in ("change.opened", "change.revised"):
        return ["change.waiting"] if state == "pending" else []
    if kind == "change.approved":
        return ["change.approved"] if state in ("approved", "retro-approved") else []
    if kind == "change.rejected":
        return ["change.rejected"]
    if kind == "change.deployed":
        return ["change.deployed"] if payload.get("change_id") else []
    if kind == "emergency.deployed":
        return ["emergency.opened"] if payload.get("change_id") else []
    if kind == "push.refused":
        return ["push.refused"]
    if kind == DRIFT_DETECTED:
        return ["drift.detected"]
    if kind == ev.ACCESS_REVIEW_SIGNED:
        return ["access.review_signed"]
    if kind == ev.ACCESS_SNAPSHOT:  # revoked rights still held: work the directory's owners have not done
        return ["access.revocation_open"] if ev.AccessSnapshot.from_payload(payload).revocations_open else []
    return []


def snapshot(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: payload[k] for k in SNAPSHOT_KEYS if k in payload}


@dataclass(frozen=True)
class Router:
    """The channels configured: one row per matching webhook, one e-mail row (expanded into one row
    per recipient when delivered), one ITSM work-note row on deployment."""

    webhooks: tuple[WebhookConfig, ...]
    email: bool
    itsm: bool

    @classmethod
    def from_config(cls, config: Config) -> Router:
        return cls(webhooks=config.notify.webhooks, email=config.notify.smtp is not None,
                   itsm=config.itsm is not None)

    def enqueue(self, conn: Connection, entry: Entry) -> int:
        """Insert the outbox rows for one log entry on the writer's connection; returns how many."""
        events = events_for(entry.kind, entry.payload)
        if not events:
            return 0
        change_id = entry.payload.get("change_id")
        repo = entry.payload.get("repo")
        if repo is None and change_id and any(h.repos for h in self.webhooks):
            repo = conn.execute(select(_CR.c.repo).where(_CR.c.id == change_id)).scalar()
        data = snapshot(entry.payload)
        if repo is not None:
            data.setdefault("repo", repo)
        values = [row for event in events
                  for row in self.rows(f"log:{entry.seq}", event, data, entry.ts, entry.seq, change_id, repo)]
        if values:
            conn.execute(_OUTBOX.insert(), values)
        return len(values)

    def rows(self, event_key: str, event: str, data: dict[str, Any], ts: str, log_seq: int | None,
             change_id: int | None, repo: str | None) -> list[dict[str, Any]]:
        """The outbox rows of one event (also used for reminders, which have no log entry)."""
        text = json.dumps({**data, "event_ts": ts}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        targets: list[tuple[str, str]] = [("webhook", h.name) for h in self.webhooks if h.wants(event, repo)]
        if self.email:
            targets.append(("email", "*"))
        if self.itsm and event == "change.deployed":
            targets.append(("itsm", "*"))
        return [{"event_key": event_key, "event": event, "channel": channel, "target": target,
                 "log_seq": log_seq, "change_id": change_id, "payload": text, "state": "pending", "attempts": 0,
                 "next_at": ts, "last_error": "", "created_at": ts, "sent_at": None}
                for channel, target in targets]


def webhook(config: Config, name: str) -> WebhookConfig | None:
    return next((h for h in config.notify.webhooks if h.name == name), None)


def names(hooks: Sequence[WebhookConfig]) -> list[str]:
    return [h.name for h in hooks]
