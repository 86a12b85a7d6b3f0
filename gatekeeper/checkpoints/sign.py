"""Checkpoints of the log head (SPEC §8, §10): made on demand, and every ``service.checkpoint_every``
entries by ``AutoCheckpoint``, a listener of the store (``gatekeeper.bootstrap`` registers it).

Given the log's ``origin`` (``gatekeeper/<service name>``), a checkpoint also carries the C2SP signed
note of the Merkle tree of the entries up to its seq (SPEC §12), signed by the same key."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from gatekeeper.checkpoints.keys import load_private_key
from gatekeeper.errors import GatekeeperError, InputError
from gatekeeper.ledger.checkpoint import Checkpoint, sign
from gatekeeper.ledger.entry import Entry
from gatekeeper.ledger.events import LOG_CHECKPOINT, Event, LogCheckpoint
from gatekeeper.store import log, tree
from gatekeeper.store.db import Store

logger = logging.getLogger(__name__)


@dataclass
class AutoCheckpoint:
    """Sign a checkpoint after every ``every``-th entry, in the transaction that appended it. The key
    is read on first use; a missing or unreadable key skips the checkpoint with a warning instead of
    refusing the business write."""

    every: int
    key_path: Path | None = None
    key: Ed25519PrivateKey | None = None
    origin: str | None = None     # the log's origin: checkpoints carry a signed note of the tree (SPEC §12)
    _warned: bool = field(default=False, repr=False)

    def private_key(self) -> Ed25519PrivateKey | None:
        if self.key is None and self.key_path is not None:
            try:
                self.key = load_private_key(Path(self.key_path))
            except GatekeeperError as exc:
                if not self._warned:
                    logger.warning("no automatic checkpoint: %s", exc.message)
                    self._warned = True
        return self.key

    def appended(self, session: Session, entry: Entry, event: Event) -> None:
        if entry.kind == LOG_CHECKPOINT or self.every <= 0 or entry.seq % self.every:
            return
        key = self.private_key()  # read only when due: the key file is not touched on other appends
        if key is not None:
            maybe_checkpoint(session, key, self.every, entry, origin=self.origin)


def maybe_checkpoint(session: Session, private_key: Ed25519PrivateKey, every: int,
                     entry: Entry | None = None, *, origin: str | None = None) -> Checkpoint | None:
    """Checkpoint the head when its seq is a multiple of ``every`` (0: never); cheap otherwise."""
    if every <= 0:
        return None
    if entry is None:
        last = log.head(session)
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
    """Sign the current head and log it as a ``log.checkpoint`` entry (the next seq), in this transaction;
    with ``origin``, the note of the tree of the entries up to the head too (tree size = head seq)."""
    last = log.head(session)
    if last is None:
        raise InputError("the log is empty: there is nothing to checkpoint yet")
    root = tree.root(session.connection(), last.seq) if origin is not None else None
    cp = sign(last.seq, last.hash, ts or log.utc_now(), private_key, origin=origin, root=root)
    log.append(session, LogCheckpoint(seq=cp.seq, hash=cp.hash, ts=cp.ts, key_id=cp.key_id,
                                      signature=cp.signature, note=cp.note), ts=cp.ts)
    return cp


def checkpoint_of(session: Session, entry: Entry, private_key: Ed25519PrivateKey, origin: str) -> Checkpoint:
    """The signed checkpoint of the log ending with ``entry``, appended in this transaction (the evidence
    pack's ``audit.exported``): logged as the next entry, or the automatic one that already followed it."""
    last = log.head(session)
    if last is not None and last.seq == entry.seq:
        return checkpoint_head(session, private_key, origin=origin)
    if last is not None and last.kind == LOG_CHECKPOINT and last.seq == entry.seq + 1:
        cp = Checkpoint.from_dict(json.loads(last.payload), f"log.checkpoint at seq {last.seq}")
        if cp.note:
            return cp
        return sign(entry.seq, entry.hash, log.utc_now(), private_key, origin=origin,
                    root=tree.root(session.connection(), entry.seq))
    raise InputError(f"seq {entry.seq} is no longer the head of the log in this transaction")


def make_checkpoint(store: Store, private_key: Ed25519PrivateKey, origin: str | None = None) -> Checkpoint:
    """A signed checkpoint of the head, logged; what ``gatekeeper log checkpoint`` writes out."""
    with store.write() as session:
        return checkpoint_head(session, private_key, origin=origin)


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The checkpoint held by the newest ``log.checkpoint`` entry (``GET /api/v1/log/checkpoint``)."""
    entry = log.last_of_kind(session, LOG_CHECKPOINT)
    if entry is None:
        return None
    return Checkpoint.from_dict(entry.payload, f"log.checkpoint at seq {entry.seq}")
