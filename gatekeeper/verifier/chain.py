"""``log.jsonl`` of a pack, in one streaming pass (SPEC §8, §10, §12). Pure but for reading the file.

For every line: (1) seq runs 1, 2, 3 … with no gap, (2) prev_hash is the hash of the entry before
(64 zeros for seq 1), (3) the hash recomputes as sha256(b"gatekeeper.log.v1\\x00" + canon({seq, ts,
kind, actor, payload, prev_hash})), (4) every ``log.checkpoint`` entry certifies the entry before
it; and the leaves of the Merkle tree (the entries' hashes) are collected, the projection fed and
the file hashed on the way. Lines are read at most ``MAX_LINE`` bytes at a time, so a hostile file
cannot exhaust memory.

Speed: a line the writer produced is canonical JSON with its keys sorted, so its hash is checked on
the bytes themselves, without parsing (the same reasoning as ``gatekeeper/ledger/verify.py``: the
only lines this path accepts are the ones whose bytes hash to their own ``hash`` member, and such a
line is exactly the writer's, since a signed tree covers that hash). Anything else takes the strict
path, which parses the line (duplicate keys refused) and names what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from gatekeeper.ledger.jsoncodec import canon, loads_strict
from gatekeeper.ledger.merkle import TreeBuilder

MAX_LINE = 64 << 20
LOG_DOMAIN = b"gatekeeper.log.v1\x00"
GENESIS = "0" * 64
ENTRY_FIELDS = ("seq", "ts", "kind", "actor", "payload", "prev_hash", "hash")
KEY_KINDS = ("key.created", "key.rotated")
_HASH_KEY = b',"hash":"'
_KIND_KEY = b'","kind":"'
_PAYLOAD_KEY = b'","payload":'


class Failed(Exception):
    """The first check that failed; its message is what the auditor reads."""


def strict_json(text: bytes | str, where: str) -> Any:
    """JSON with duplicate keys and NaN/Infinity refused: what a hash covers must be all there is."""
    try:
        return loads_strict(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Failed(f"{where}: not valid JSON ({exc})") from None


Feed = Callable[[int, str, str, str, Any, bytes], None]    # (seq, ts, kind, actor, payload, canonical payload)
Wants = Callable[[int, str, bytes], bool]              # (seq, kind, payload bytes) -> parse it and feed it?
Named = Callable[[int, bytes], None]                   # (seq, payload bytes) of an entry not parsed


@dataclass
class LogPass:
    """What one pass over log.jsonl established."""

    size: int = 0
    head_hash: str = GENESIS
    tree: TreeBuilder = field(default_factory=lambda: TreeBuilder(keep=True))
    entry_hashes: bytearray = field(default_factory=bytearray)      # 32 bytes per entry, in seq order
    sha256: str = ""
    last: dict[str, Any] | None = None                    # the last entry, parsed
    keys: list[tuple[int, str, Any]] = field(default_factory=list)   # key.created / key.rotated entries
    log_checkpoints: int = 0


def read_log(fh: IO[bytes], feed: Feed | None = None, wants: Wants | None = None,
             named: Named | None = None) -> LogPass:
    """Check the chain of ``fh`` (a binary file) from seq 1 and return what it established. Entries
    ``wants`` accepts are parsed and fed to ``feed``; the others' payload bytes go to ``named``."""
    out = LogPass()
    file_hash = hashlib.sha256()
    domain = hashlib.sha256(LOG_DOMAIN)
    copy, sha, append, hashes = domain.copy, hashlib.sha256, out.tree.append, out.entry_hashes
    prev, n, last = GENESIS.encode(), 0, b""
    readline = fh.readline
    while True:
        line = readline(MAX_LINE + 1)
        if not line:
            break
        n += 1
        last = line
        file_hash.update(line)
        if len(line) > MAX_LINE:
            raise Failed(f"log.jsonl line {n} is longer than {MAX_LINE >> 20} MiB: not a log entry")
        if not line.endswith(b"\n"):
            raise Failed(f"log.jsonl line {n} does not end with a newline (the file was cut off)")
        h = line.find(_HASH_KEY)
        entry: dict[str, Any] | None = None
        tail = b',"prev_hash":"%s","seq":%d,"ts":"' % (prev, n)
        if h > 0 and line.endswith(tail, 0, len(line) - 30):
            c = copy()
            c.update(line[:h])
            c.update(line[h + 74:-1])
            raw = c.digest()
            digest = raw.hex().encode()
            if not line.startswith(digest + _KIND_KEY, h + 9):
                entry, raw = _strict(line, n, prev)
                digest = raw.hex().encode()
        else:
            entry, raw = _strict(line, n, prev)
            digest = raw.hex().encode()
        append(sha(b"\x00" + raw).digest())
        hashes += raw
        if entry is None:
            k_end = line.find(_PAYLOAD_KEY, h + 83)
            kind = line[h + 83:k_end].decode("utf-8", "replace")
            if feed is not None or kind == "log.checkpoint" or kind in KEY_KINDS:
                raw_payload = line[k_end + 12:len(line) - 30 - len(tail)]
                if kind == "log.checkpoint" or kind in KEY_KINDS or (wants is not None and wants(n, kind, raw_payload)):
                    actor_raw = line[9:h]
                    actor = (actor_raw[1:-1].decode() if b"\\" not in actor_raw else json.loads(actor_raw))
                    payload = json.loads(raw_payload)
                    _seen(out, n, line[-30:-3].decode(), kind, actor, payload, raw_payload, prev.decode(), feed)
                elif named is not None:
                    named(n, raw_payload)
        else:
            _seen(out, n, entry["ts"], entry["kind"], entry["actor"], entry["payload"], canon(entry["payload"]),
                  prev.decode(), feed)
        prev = digest
    out.size, out.head_hash, out.sha256 = n, prev.decode(), file_hash.hexdigest()
    if n:
        out.last = strict_json(last, f"log.jsonl line {n}")
    return out


def _seen(out: LogPass, seq: int, ts: str, kind: str, actor: str, payload: Any, raw: bytes, prev: str,
          feed: Feed | None) -> None:
    if kind == "log.checkpoint":
        cert = payload if isinstance(payload, dict) else {}
        if cert.get("seq") != seq - 1 or cert.get("hash") != prev:
            raise Failed(f"log.jsonl seq {seq}: the log.checkpoint does not certify the entry before it")
        out.log_checkpoints += 1
    elif kind in KEY_KINDS:
        out.keys.append((seq, kind, payload))
    if feed is not None:
        try:
            feed(seq, ts, kind, actor, payload, raw)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise Failed(f"log.jsonl seq {seq} ({kind}): a payload the tables cannot be made of "
                         f"({type(exc).__name__}: {exc})") from None


def _strict(line: bytes, n: int, prev: bytes) -> tuple[dict[str, Any], bytes]:
    """The field-by-field check of a line the fast path did not accept; raises naming the reason."""
    where = f"log.jsonl line {n}"
    entry = strict_json(line, where)
    if not isinstance(entry, dict) or sorted(entry) != sorted(ENTRY_FIELDS):
        raise Failed(f"{where}: an entry holds exactly the fields {', '.join(ENTRY_FIELDS)}")
    seq = entry["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq != n:
        raise Failed(f"{where}: seq {seq!r} where seq {n} was expected (an entry is missing, duplicated or "
                     "reordered)")
    for name in ("ts", "kind", "actor", "prev_hash", "hash"):
        if not isinstance(entry[name], str):
            raise Failed(f"seq {n}: {name} is not a string")
    if not isinstance(entry["payload"], dict):
        raise Failed(f"seq {n}: payload is not an object")
    if entry["prev_hash"] != prev.decode():
        raise Failed(f"seq {n}: prev_hash does not match the hash of seq {n - 1}" if n > 1 else
                     "seq 1: prev_hash is not the genesis hash (64 zeros)")
    body = {k: entry[k] for k in ENTRY_FIELDS if k != "hash"}
    try:
        raw = hashlib.sha256(LOG_DOMAIN + canon(body)).digest()
    except (TypeError, ValueError) as exc:
        raise Failed(f"seq {n}: cannot encode the entry canonically ({exc})") from None
    if raw.hex() != entry["hash"]:
        raise Failed(f"seq {n}: hash does not recompute from the entry's fields (the entry was edited)")
    if canon(entry) + b"\n" != line:
        raise Failed(f"log.jsonl line {n} is not in the canonical form the log writes (the file was altered)")
    return entry, raw
