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

# Log kinds (SPEC §8).
CHANGE_OPENED = "change.opened"
CHANGE_REVISED = "change.revised"
CHANGE_APPROVED = "change.approved"
CHANGE_REJECTED = "change.rejected"
CHANGE_WITHDRAWN = "change.withdrawn"
SIGN_REFUSED = "change.sign_refused"  # a signature refused for segregation of duties (the 403)
CHANGE_DEPLOYED = "change.deployed"
PUSH_ALLOWED = "push.allowed"
PUSH_REFUSED = "push.refused"
EMERGENCY_DEPLOYED = "emergency.deployed"
CONFIG_LOADED = "config.loaded"
HOOKS_ATTESTED = "hooks.attested"
LOG_CHECKPOINT = "log.checkpoint"
KEY_CREATED = "key.created"


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
