"""Checkpoints of the log head (SPEC §8, §10): made on demand, and every ``service.checkpoint_every``
entries by ``AutoCheckpoint``, a listener of the store (``gatekeeper.bootstrap`` registers it)."""

from __future__ import annotations

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
from gatekeeper.store import log
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
            maybe_checkpoint(session, key, self.every, entry)


def maybe_checkpoint(session: Session, private_key: Ed25519PrivateKey, every: int,
                     entry: Entry | None = None) -> Checkpoint | None:
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
    return checkpoint_head(session, private_key)


def checkpoint_head(session: Session, private_key: Ed25519PrivateKey, ts: str | None = None) -> Checkpoint:
    """Sign the current head and log it as a ``log.checkpoint`` entry (the next seq), in this transaction."""
    last = log.head(session)
    if last is None:
        raise InputError("the log is empty: there is nothing to checkpoint yet")
    cp = sign(last.seq, last.hash, ts or log.utc_now(), private_key)
    log.append(session, LogCheckpoint(seq=cp.seq, hash=cp.hash, ts=cp.ts, key_id=cp.key_id,
                                      signature=cp.signature), ts=cp.ts)
    return cp


def make_checkpoint(store: Store, private_key: Ed25519PrivateKey) -> Checkpoint:
    """A signed checkpoint of the head, logged; what ``gatekeeper log checkpoint`` writes out."""
    with store.write() as session:
        return checkpoint_head(session, private_key)


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The checkpoint held by the newest ``log.checkpoint`` entry (``GET /api/v1/log/checkpoint``)."""
    entry = log.last_of_kind(session, LOG_CHECKPOINT)
    if entry is None:
        return None
    return Checkpoint.from_dict(entry.payload, f"log.checkpoint at seq {entry.seq}")
