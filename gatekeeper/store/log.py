"""The only writer of the change log (SPEC §8): lock, read the head, hash, insert — one transaction.

Callers pass the session of their own write transaction (``Store.write()``), so a state change and
the entry that records it commit together or not at all. Also here: signed checkpoints of the
head (made on demand and every ``service.checkpoint_every`` entries) and the streaming JSONL export.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gatekeeper.errors import GatekeeperError, InputError
from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.checkpoint import Checkpoint, sign
from gatekeeper.ledger.entry import GENESIS_HASH, LOG_CHECKPOINT, Entry, entry_hash
from gatekeeper.ledger.jsonl import row_line
from gatekeeper.store import tree
from gatekeeper.store.db import CHECKPOINT_POLICY, NOTIFY_ROUTER
from gatekeeper.store.tables import ChangeLog, ChangeLogRef

logger = logging.getLogger(__name__)
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


def append(session: Session, kind: str, actor: str, payload: dict[str, Any],
           change_ids: Iterable[int] = (), ts: str | None = None) -> Entry:
    """Append one entry inside the caller's serialised write transaction.

    Plain Core statements, not ORM objects: the lock is held from the head read to the commit, so
    every millisecond spent here is a millisecond every other writer waits.
    """
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
    router = session.info.get(NOTIFY_ROUTER)
    if router is not None:  # the outbox fills in this same transaction (issue 14): nothing lost, nothing early
        router.enqueue(conn, entry)
    policy = session.info.get(CHECKPOINT_POLICY)
    if policy is not None and kind != LOG_CHECKPOINT and seq % policy.every == 0:
        key = policy.private_key()  # read only when due: the key file is not touched on other appends
        if key is not None:
            maybe_checkpoint(session, key, policy.every, entry, origin=policy.origin)
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


# --- checkpoints (SPEC §8, §10) --------------------------------------------------------------------

@dataclass
class CheckpointPolicy:
    """Sign a checkpoint after every ``every``-th entry. The key is read on first use; a missing or
    unreadable key skips the checkpoint with a warning instead of refusing the business write."""

    every: int
    key_path: Path | None = None
    key: Ed25519PrivateKey | None = None
    origin: str | None = None     # the log's origin: checkpoints carry a signed note of the tree (SPEC §12)
    _warned: bool = field(default=False, repr=False)

    def private_key(self) -> Ed25519PrivateKey | None:
        if self.key is None and self.key_path is not None:
            from gatekeeper.store.signing import load_private_key

            try:
                self.key = load_private_key(Path(self.key_path))
            except GatekeeperError as exc:
                if not self._warned:
                    logger.warning("no automatic checkpoint: %s", exc.message)
                    self._warned = True
        return self.key


def maybe_checkpoint(session: Session, private_key: Ed25519PrivateKey, every: int,
                     entry: Entry | None = None, *, origin: str | None = None) -> Checkpoint | None:
    """Checkpoint the head when its seq is a multiple of ``every`` (0: never); cheap otherwise.

    ``append`` calls this in a ``Store.write()`` of a store with a ``checkpoint_policy`` (``open_store``
    sets one from ``service.checkpoint_every``).
    """
    if every <= 0:
        return None
    if entry is None:
        last = head(session)
        if last is None:
            return None
        seq, kind = last.seq, last.kind
    else:
        seq, kind = entry.seq, entry.kind
    if kind == LOG_CHECKPOINT or seq % every:
        return None
    return checkpoint_head(session, private_key, origin=origin)


def checkpoint_head(session: Session, private_key: Ed25519PrivateKey, ts: str | None = None, *,
                    origin: str | None = None) -> Checkpoint:
    """Sign the current head and log it as a ``log.checkpoint`` entry (the next seq), in this transaction.

    With the log's ``origin`` the checkpoint also carries the C2SP signed note of the Merkle tree of
    the entries up to the head (tree size = head seq).
    """
    last = head(session)
    if last is None:
        raise InputError("the log is empty: there is nothing to checkpoint yet")
    root = tree.root(session.connection(), last.seq) if origin is not None else None
    cp = sign(last.seq, last.hash, ts or utc_now(), private_key, origin=origin, root=root)
    append(session, LOG_CHECKPOINT, "gatekeeper", cp.to_dict(), ts=cp.ts)
    return cp


def checkpoint_of(session: Session, entry: Entry, private_key: Ed25519PrivateKey, origin: str) -> Checkpoint:
    """The signed checkpoint of the log ending with ``entry``, appended in this transaction (the evidence
    pack's ``audit.exported``): logged as the next entry, or the automatic one that already followed it."""
    last = head(session)
    if last is not None and last.seq == entry.seq:
        return checkpoint_head(session, private_key, origin=origin)
    if last is not None and last.kind == LOG_CHECKPOINT and last.seq == entry.seq + 1:
        cp = Checkpoint.from_dict(json.loads(last.payload), f"log.checkpoint at seq {last.seq}")
        if cp.note:
            return cp
        return sign(entry.seq, entry.hash, utc_now(), private_key, origin=origin,
                    root=tree.root(session.connection(), entry.seq))
    raise InputError(f"seq {entry.seq} is no longer the head of the log in this transaction")


def make_checkpoint(store: Any, private_key: Ed25519PrivateKey, origin: str | None = None) -> Checkpoint:
    """A signed checkpoint of the head, logged; what ``gatekeeper log checkpoint`` writes out."""
    with store.write() as session:
        return checkpoint_head(session, private_key, origin=origin)


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The checkpoint held by the newest ``log.checkpoint`` entry (``GET /api/v1/log/checkpoint``)."""
    row = session.exec(select(ChangeLog).where(ChangeLog.kind == LOG_CHECKPOINT)
                       .order_by(col(ChangeLog.seq).desc()).limit(1)).first()
    if row is None:
        return None
    return Checkpoint.from_dict(json.loads(row.payload), f"log.checkpoint at seq {row.seq}")


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
