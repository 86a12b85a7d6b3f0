"""The outbox table's operations: claim due deliveries, record the outcome (issue 14).

One worker at a time per delivery, across threads, processes and hosts: a claim moves rows from
``pending`` to ``sending`` with a lease (``next_at`` = now + lease) in one short transaction —
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (claimers skip each other's rows instead of
waiting), ``BEGIN IMMEDIATE`` on SQLite (one writer at a time). A worker that dies mid-send leaves
its rows ``sending``; once the lease runs out they are claimed again (at least once, same id).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlmodel import Session

from gatekeeper.notify.events import Snapshot
from gatekeeper.store.db import Store
from gatekeeper.store.tables import NotifyOutbox

_T = NotifyOutbox.__table__  # type: ignore[attr-defined]
PENDING, SENDING, SENT, EXPANDED, HELD, DEAD, SKIPPED, DIGESTED = (
    "pending", "sending", "sent", "expanded", "held", "dead", "skipped", "digested")


def stamp(when: datetime) -> str:
    """The stored timestamp format (``store.log.utc_now``): fixed width, so text order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Delivery:
    id: int
    event_key: str
    event: str
    channel: str
    target: str
    log_seq: int | None
    change_id: int | None
    payload: dict[str, Any]
    attempts: int

    @property
    def snapshot(self) -> Snapshot:
        """What the delivery says about its event (``notify.events.Snapshot``)."""
        return Snapshot.from_payload(self.payload)

    @property
    def delivery_id(self) -> str:
        """Stable across retries and restarts: derived from the unique (event, channel, target) key."""
        digest = hashlib.sha256(f"{self.event_key}|{self.channel}|{self.target}".encode()).hexdigest()
        return f"msg_{digest[:32]}"


def _delivery(row: Any) -> Delivery:
    return Delivery(id=row.id, event_key=row.event_key, event=row.event, channel=row.channel, target=row.target,
                    log_seq=row.log_seq, change_id=row.change_id, payload=json.loads(row.payload or "{}"),
                    attempts=row.attempts)


def claim(store: Store, now: datetime, limit: int, lease: float) -> list[Delivery]:
    """Take up to ``limit`` due deliveries for this worker; nobody else gets them until the lease ends."""
    due = stamp(now)
    query = (select(_T).where(or_(_T.c.state == PENDING, _T.c.state == SENDING), _T.c.next_at <= due)
             .order_by(_T.c.next_at, _T.c.id).limit(limit))
    until = stamp(now + timedelta(seconds=lease))
    if store.is_sqlite:
        with store.write() as session:
            return _take(session.connection(), query, until)
    with store.engine.begin() as conn:
        return _take(conn, query.with_for_update(skip_locked=True), until)


def _take(conn: Any, query: Any, until: str) -> list[Delivery]:
    rows = conn.execute(query).all()
    if rows:
        conn.execute(update(_T).where(_T.c.id.in_([r.id for r in rows])).values(state=SENDING, next_at=until))
    return [_delivery(r) for r in rows]


def finish(session: Session, delivery: Delivery, state: str, *, error: str = "", at: datetime | None = None,
           retry_at: datetime | None = None) -> None:
    """Record one attempt's outcome: ``sent``/``dead``/``skipped``/``expanded``, or back to ``pending``."""
    values: dict[str, Any] = {"state": state, "attempts": delivery.attempts + (state != EXPANDED),
                              "last_error": error[:500]}
    if state == SENT and at is not None:
        values["sent_at"] = stamp(at)
    if retry_at is not None:
        values["next_at"] = stamp(retry_at)
    session.connection().execute(update(_T).where(_T.c.id == delivery.id, _T.c.state == SENDING).values(**values))


def add(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows whose ``(event_key, channel, target)`` is new; others are left as they are (idempotent).

    Runs in a serialised write transaction, so the check and the insert cannot race another writer.
    """
    conn, added = session.connection(), 0
    for row in rows:
        exists = conn.execute(select(_T.c.id).where(and_(_T.c.event_key == row["event_key"],
                                                         _T.c.channel == row["channel"],
                                                         _T.c.target == row["target"]))).first()
        if exists is None:
            conn.execute(_T.insert(), [row])
            added += 1
    return added


def counts(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    return {state: n for state, n in session.connection().execute(
        select(_T.c.state, func.count()).group_by(_T.c.state)).all()}
