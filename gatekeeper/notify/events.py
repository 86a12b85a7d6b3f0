"""The notification outbox as a listener of the log (issue 14, SPEC §11): the rows each entry enqueues.

``Outbox`` is registered on the store at start-up (``gatekeeper.bootstrap``); ``store.log.append``
tells it of every entry inside the entry's own transaction, so an event and its deliveries commit
together or not at all, and no use case has to remember to notify. Which entries are worth telling
is ``policy.notices.for_event``. The row key ``(event_key, channel, target)`` with
``event_key = "log:<seq>"`` is what makes a delivery's id stable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from gatekeeper.config import Config, WebhookConfig
from gatekeeper.ledger.entry import Entry
from gatekeeper.ledger.events import Event, Record, RefOutcome, Revocation, omitted_when_default
from gatekeeper.policy.notices import Notice, for_event
from gatekeeper.store.tables import ChangeRequest, NotifyOutbox

_OUTBOX = NotifyOutbox.__table__  # type: ignore[attr-defined]
_CR = ChangeRequest.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Snapshot(Record):
    """What a delivery keeps of its log entry (file lists and memberships stay in the log), plus when
    the event happened; a field the entry's kind does not have is left out."""

    change_id: int | None = omitted_when_default()
    repo: str | None = omitted_when_default()
    target: str | None = omitted_when_default()
    title: str | None = omitted_when_default()
    state: str | None = omitted_when_default()
    ticket: str | None = omitted_when_default()
    pusher: str | None = omitted_when_default()
    ref: str | None = omitted_when_default()
    old: str | None = omitted_when_default()
    new: str | None = omitted_when_default()
    reason: str | None = omitted_when_default()
    deadline: str | None = omitted_when_default()
    revision: int | None = omitted_when_default()
    fingerprint: str | None = omitted_when_default()
    signer: str | None = omitted_when_default()
    name: str | None = omitted_when_default()
    group: str | None = omitted_when_default()
    decision: str | None = omitted_when_default()
    commenter: str | None = omitted_when_default()            # a comment (change.commented)
    meaning: str | None = omitted_when_default()
    comment: str | None = omitted_when_default()
    refs: tuple[RefOutcome, ...] | None = omitted_when_default()
    source: str | None = omitted_when_default()
    path: str | None = omitted_when_default()
    summary: str | None = omitted_when_default()
    errors: int | None = omitted_when_default()
    emergency: str | None = omitted_when_default()
    event_ts: str | None = omitted_when_default()
    review_id: int | None = omitted_when_default()           # an access review (SPEC §12)
    kept: int | None = omitted_when_default()
    revoked: int | None = omitted_when_default()
    revocations: tuple[Revocation, ...] | None = omitted_when_default()
    revocations_open: tuple[Revocation, ...] | None = omitted_when_default()
    day: str | None = omitted_when_default()
    items: tuple[int, ...] | None = omitted_when_default()   # a daily digest: the outbox rows it bundles

    @classmethod
    def of(cls, event: Event, **extra: Any) -> Snapshot:
        """The snapshot of a typed log event: the fields both have."""
        mine = {f.name for f in fields(cls)}
        return cls(**{f.name: getattr(event, f.name) for f in fields(event) if f.name in mine}, **extra)

    def data(self) -> dict[str, Any]:
        """The webhook body's ``data`` (SPEC §11): the snapshot without the delivery's bookkeeping."""
        out = self.to_payload()
        out.pop("event_ts", None)
        out.pop("items", None)
        return out


@dataclass(frozen=True)
class Outbox:
    """The channels configured: one row per matching webhook, one e-mail row (expanded into one row
    per recipient when delivered), one ITSM work-note row on deployment."""

    webhooks: tuple[WebhookConfig, ...]
    email: bool
    itsm: bool

    @classmethod
    def from_config(cls, config: Config) -> Outbox | None:
        """The outbox of a policy, or None when nothing is configured to deliver to."""
        if not (config.notify.enabled or config.itsm is not None):
            return None
        return cls(webhooks=config.notify.webhooks, email=config.notify.smtp is not None,
                   itsm=config.itsm is not None)

    def appended(self, session: Session, entry: Entry, event: Event) -> None:
        self.enqueue(session, entry, event)

    def enqueue(self, session: Session, entry: Entry, event: Event) -> int:
        """Insert the outbox rows for one log entry on the writer's connection; returns how many."""
        notices = for_event(event)
        if not notices:
            return 0
        conn = session.connection()
        data = Snapshot.of(event)
        repo = data.repo
        if repo is None and data.change_id and any(h.repos for h in self.webhooks):
            repo = conn.execute(select(_CR.c.repo).where(_CR.c.id == data.change_id)).scalar()
            data = replace(data, repo=repo)
        values = [row for notice in notices
                  for row in self.rows(f"log:{entry.seq}", notice, data, entry.ts, entry.seq, data.change_id, repo)]
        if values:
            conn.execute(_OUTBOX.insert(), values)
        return len(values)

    def rows(self, event_key: str, event: str, data: Snapshot, ts: str, log_seq: int | None,
             change_id: int | None, repo: str | None) -> list[dict[str, Any]]:
        """The outbox rows of one event (also used for reminders, which have no log entry)."""
        text = json.dumps(replace(data, event_ts=ts).to_payload(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)
        targets: list[tuple[str, str]] = [("webhook", h.name) for h in self.webhooks if h.wants(event, repo)]
        if self.email:
            targets.append(("email", "*"))
        if self.itsm and event == Notice.DEPLOYED:
            targets.append(("itsm", "*"))
        return [{"event_key": event_key, "event": event, "channel": channel, "target": target,
                 "log_seq": log_seq, "change_id": change_id, "payload": text, "state": "pending", "attempts": 0,
                 "next_at": ts, "last_error": "", "created_at": ts, "sent_at": None}
                for channel, target in targets]


def webhook(config: Config, name: str) -> WebhookConfig | None:
    return next((h for h in config.notify.webhooks if h.name == name), None)


def names(hooks: Sequence[WebhookConfig]) -> list[str]:
    return [h.name for h in hooks]
