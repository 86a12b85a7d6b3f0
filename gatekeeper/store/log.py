"""The only writer of the change log (SPEC §8): lock, read the head, hash, insert — one transaction.

Callers pass the session of their own write transaction (``Store.write()``) and a typed event
(``ledger.events``), so a state change and the entry that records it commit together or not at all,
and every payload has its kind's shape. The store's listeners (``Store.listen``: the notification
outbox, automatic checkpoints) are told of each entry in that same transaction. Also here: the
streaming reads for verification and the JSONL export.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.entry import GENESIS_HASH, Entry, entry_hash
from gatekeeper.ledger.events import Event
from gatekeeper.ledger.jsonl import row_line
from gatekeeper.store import tree
from gatekeeper.store.db import LISTENERS
from gatekeeper.store.tables import ChangeLog, ChangeLogRef

SYSTEM = "gatekeeper"  # the actor of entries the service makes on its own behalf
_LOG = ChangeLog.__table__  # type: ignore[attr-defined]
_HEAD_LINK = sa_select(_LOG.c.seq, _LOG.c.hash).order_by(_LOG.c.seq.desc()).limit(1)
_INSERT_ENTRY = _LOG.insert()
_INSERT_REF = ChangeLogRef.__table__.insert()  # type: ignore[attr-defined]
_ROW_COLUMNS = (_LOG.c.seq, _LOG.c.ts, _LOG.c.kind, _LOG.c.actor, _LOG.c.payload, _LOG.c.prev_hash, _LOG.c.hash)


def utc_now() -> str:
    """RFC 3339 UTC with microseconds and a ``Z`` (SPEC: times are UTC RFC 3339)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def head(session: Session) -> ChangeLog | None:
    return session.exec(select(ChangeLog).order_by(col(ChangeLog.seq).desc()).limit(1)).first()


def append(session: Session, event: Event, actor: str = SYSTEM, change_ids: Iterable[int] = (),
           ts: str | None = None) -> Entry:
    """Append ``event`` (its ``KIND``, its payload) inside the caller's serialised write transaction;
    ``change_ids``: the CRs it is about (``change_log_ref``, the register's ``log_seqs``).

    Plain Core statements, not ORM objects: the lock is held from the head read to the commit, so
    every millisecond spent here is a millisecond every other writer waits.
    """
    kind, payload = event.KIND, event.to_payload()
    conn = session.connection()
    last = conn.execute(_HEAD_LINK).first()
    seq = (last[0] + 1) if last else 1
    prev = last[1] if last else GENESIS_HASH
    ts = ts or utc_now()
    # Round-trip through canonical JSON so the stored text and the hashed value are the same.
    payload_text = canon(payload).decode("utf-8")
    h = entry_hash(seq, ts, kind, actor, payload, prev)
    conn.execute(_INSERT_ENTRY, {"seq": seq, "ts": ts, "kind": kind, "actor": actor,
                                 "payload": payload_text, "prev_hash": prev, "hash": h})
    tree.add_leaf(conn, seq, h, prev)  # the Merkle tree grows in the same transaction (SPEC §12)
    refs = sorted(set(change_ids))
    if refs:
        conn.execute(_INSERT_REF, [{"seq": seq, "change_id": cid} for cid in refs])
    entry = Entry(seq=seq, ts=ts, kind=kind, actor=actor, payload=payload, prev_hash=prev, hash=h)
    for listener in session.info.get(LISTENERS, ()):  # same transaction (issue 14): nothing lost, nothing early
        listener.appended(session, entry, event)
    return entry


def to_entry(row: ChangeLog) -> Entry:
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


def last_of_kind(session: Session, kind: str, upto: int | None = None) -> Entry | None:
    """The newest entry of ``kind`` (at or before seq ``upto``)."""
    q = select(ChangeLog).where(ChangeLog.kind == kind)
    if upto is not None:
        q = q.where(col(ChangeLog.seq) <= upto)
    row = session.exec(q.order_by(col(ChangeLog.seq).desc()).limit(1)).first()
    return to_entry(row) if row is not None else None


def of_kinds(session: Session, kinds: Iterable[str] | None, *, start: str | None = None, end: str | None = None,
             upto: int | None = None, like: str | None = None, change_id: int | None = None,
             newest_first: bool = False, limit: int | None = None, batch: int = 1000) -> Iterator[Entry]:
    """Entries of ``kinds`` (None: of any kind) in seq order (newest first on request), a batch per query: in
    ``[start, end)``, at or before ``upto``, whose payload text is ``LIKE`` ``like`` (a cheap pre-filter;
    the caller checks the parsed field), or about ``change_id``."""
    wanted = None if kinds is None else list(kinds)
    after, before, seen = 0, None, 0
    while True:
        q = select(ChangeLog)
        if wanted is not None:
            q = q.where(col(ChangeLog.kind).in_(wanted))
        if start is not None:
            q = q.where(col(ChangeLog.ts) >= start)
        if end is not None:
            q = q.where(col(ChangeLog.ts) < end)
        if upto is not None:
            q = q.where(col(ChangeLog.seq) <= upto)
        if like is not None:
            q = q.where(col(ChangeLog.payload).like(like))
        if change_id is not None:
            q = q.where(col(ChangeLog.seq).in_(select(ChangeLogRef.seq).where(ChangeLogRef.change_id == change_id)))
        if newest_first:
            q = q.where(col(ChangeLog.seq) < before) if before is not None else q
            q = q.order_by(col(ChangeLog.seq).desc())
        else:
            q = q.where(col(ChangeLog.seq) > after).order_by(col(ChangeLog.seq))
        chunk = session.exec(q.limit(batch)).all()
        for row in chunk:
            yield to_entry(row)
            seen += 1
            if limit is not None and seen >= limit:
                return
        if len(chunk) < batch:
            return
        after = before = chunk[-1].seq


# --- streaming reads: verification and export ------------------------------------------------------

def rows(session: Session, after: int = 0, upto: int | None = None, start: str | None = None,
         end: str | None = None, batch: int = 5000) -> Iterator[tuple[int, str, str, str, str, str, str]]:
    """``(seq, ts, kind, actor, payload_text, prev_hash, hash)`` in seq order, ``batch`` rows per query.

    Keyset pagination on the primary key keeps memory flat on both databases without server-side
    cursors. The statement is compiled once by SQLAlchemy and run on the transaction's DB-API
    cursor: plain tuples, no Row objects, which triples the speed of verifying a million rows.
    ``start``/``end`` select ``start <= ts < end`` (``gatekeeper.period``).
    """
    query = sa_select(*_ROW_COLUMNS).where(_LOG.c.seq > bindparam("after"))
    values: dict[str, Any] = {}
    for name, value, cond in (("upto", upto, _LOG.c.seq <= bindparam("upto")),
                              ("start", start, _LOG.c.ts >= bindparam("start")),
                              ("end", end, _LOG.c.ts < bindparam("end"))):
        if value is not None:
            query, values[name] = query.where(cond), value
    conn = session.connection()
    compiled = query.order_by(_LOG.c.seq).limit(batch).compile(dialect=conn.dialect)
    while True:
        params = compiled.construct_params({**values, "after": after})
        args = tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
        cursor = conn.connection.cursor()  # one per batch: nothing stays open while the caller iterates
        try:
            cursor.execute(compiled.string, args)
            chunk = cursor.fetchall()
        finally:
            cursor.close()
        yield from chunk
        if len(chunk) < batch:
            return
        after = chunk[-1][0]


@dataclass(frozen=True)
class ExportResult:
    count: int
    first_seq: int | None
    last_seq: int | None


def export_jsonl(session: Session, out: IO[bytes], *, start: str | None = None, end: str | None = None,
                 upto: int | None = None) -> ExportResult:
    """Write entries as JSONL (``ledger.jsonl.row_line``), streaming; ``upto`` fixes the last seq.

    Without ``start`` the file begins at seq 1, so ``gatekeeper log verify --export`` can check it
    from the genesis hash; with a period it is a report, not verifiable on its own.
    """
    count, first, last = 0, None, None
    for r in rows(session, upto=upto, start=start, end=end):
        out.write(row_line(*r))
        count += 1
        first = r[0] if first is None else first
        last = r[0]
    return ExportResult(count, first, last)
