"""One log entry and its hash (SPEC §8, §10).

``hash = sha256(b"gatekeeper.log.v1\\x00" + canon({seq, ts, kind, actor, payload, prev_hash}))``.
The domain tag keeps a log hash from ever equalling a patch fingerprint or a checkpoint message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gatekeeper.ledger.canonical import canon

LOG_DOMAIN = b"gatekeeper.log.v1\x00"
GENESIS_HASH = "0" * 64

def entry_hash(seq: int, ts: str, kind: str, actor: str, payload: dict[str, Any], prev_hash: str) -> str:
    """Hex SHA-256 of one entry's fields under the log domain tag."""
    body = canon(
        {"seq": seq, "ts": ts, "kind": kind, "actor": actor, "payload": payload, "prev_hash": prev_hash}
    )
    return hashlib.sha256(LOG_DOMAIN + body).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A log entry as stored and exported; ``hash`` is checked by ``ledger.verify``, not here."""

    seq: int
    ts: str
    kind: str
    actor: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        return entry_hash(self.seq, self.ts, self.kind, self.actor, self.payload, self.prev_hash)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "ts": self.ts, "kind": self.kind, "actor": self.actor,
            "payload": self.payload, "prev_hash": self.prev_hash, "hash": self.hash,
        }
