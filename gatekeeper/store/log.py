"""The only writer of the change log (SPEC §8): lock, read the head, hash, insert — one transaction.

Callers pass the session of their own write transaction (``Store.write()``), so a state change and
the entry that records it commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.entry import GENESIS_HASH, Entry, entry_hash
from gatekeeper.store.tables import ChangeLog, ChangeLogRef


def utc_now() -> str:
    """RFC 3339 UTC with microseconds and a ``Z`` (SPEC: times are UTC RFC 3339)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def head(session: Session) -> ChangeLog | None:
    return session.exec(select(ChangeLog).order_by(col(ChangeLog.seq).desc()).limit(1)).first()


def append(session: Session, kind: str, actor: str, payload: dict[str, Any],
           change_ids: Iterable[int] = (), ts: str | None = None) -> Entry:
    """Append one entry inside the caller's serialised write transaction."""
    last = head(session)
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS_HASH
    ts = ts or utc_now()
    # Round-trip through canonical JSON so the stored text and the hashed value are the same.
    payload_text = canon(payload).decode("utf-8")
    h = entry_hash(seq, ts, kind, actor, payload, prev)
    session.add(ChangeLog(seq=seq, ts=ts, kind=kind, actor=actor, payload=payload_text, prev_hash=prev, hash=h))
    for cid in sorted(set(change_ids)):
        session.add(ChangeLogRef(seq=seq, change_id=cid))
    session.flush()
    return Entry(seq=seq, ts=ts, kind=kind, actor=actor, payload=payload, prev_hash=prev, hash=h)


def to_entry(row: ChangeLog) -> Entry:
    import json

    return Entry(seq=row.seq, ts=row.ts, kind=row.kind, actor=row.actor, payload=json.loads(row.payload),
                 prev_hash=row.prev_hash, hash=row.hash)


def entries(session: Session, after: int = 0, limit: int | None = None, batch: int = 5000) -> Iterator[Entry]:
    """Stream entries in seq order in batches (constant memory for verify and export)."""
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch if remaining is None else min(batch, remaining)
        rows = session.exec(select(ChangeLog).where(ChangeLog.seq > after)
                            .order_by(col(ChangeLog.seq)).limit(size)).all()
        if not rows:
            return
        for row in rows:
            yield to_entry(row)
        after = rows[-1].seq
        if remaining is not None:
            remaining -= len(rows)


def seqs_for_change(session: Session, change_id: int) -> list[int]:
    return list(session.exec(select(ChangeLogRef.seq).where(ChangeLogRef.change_id == change_id)
                             .order_by(col(ChangeLogRef.seq))).all())
