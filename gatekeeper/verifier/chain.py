"""``log.jsonl`` of a pack, in one streaming pass (SPEC §8, §10, §12). Pure but for reading the file.

For every line: (1) seq runs 1, 2, 3 … with no gap, (2) prev_hash is the hash of the entry before
(64 zeros for seq 1), (3) the hash recomputes as sha256(b"gatekeeper.log.v1\\x00" + canon({seq, ts,
kind, actor, payload, prev_hash})), (4) every ``log.checkpoint`` entry certifies the entry before
it; and the leaves of the Merkle tree (the entries' hashes) are collected, the projection fed and
the file hashed on the way. The file is read in chunks and a line may be at most ``MAX_LINE`` bytes,
so a hostile file cannot exhaust memory; the tree keeps only its right edge (O(log n) hashes).

Speed: a line the writer produced is canonical JSON with its keys sorted, so its hash is checked on
the bytes themselves, without parsing (the same reasoning as ``gatekeeper/ledger/verify.py``: the
only lines this path accepts are the ones whose bytes hash to their own ``hash`` member, and such a
line is exactly the writer's, since a signed tree covers that hash). Anything else takes the strict
path, which parses the line (duplicate keys refused) and names what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import IO, Any

from gatekeeper.ledger.jsoncodec import canon, loads_strict
from gatekeeper.ledger.merkle import TreeBuilder

MAX_LINE = 64 << 20
LOG_CHUNK = 4 << 20      # log.jsonl is read this many bytes at a time
BLOCK = 4096             # leaf hashes added to the tree at once (TreeBuilder.extend)
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
Named = Callable[[int, bytes], None]                   # (seq, payload bytes) of an entry not parsed


@dataclass
class LogPass:
    """What one pass over log.jsonl established: O(log n) of it (the tree's right edge), whatever n."""

    size: int = 0
    head_hash: str = GENESIS
    tree: TreeBuilder = field(default_factory=TreeBuilder)
    sha256: str = ""
    last: dict[str, Any] | None = None                    # the last entry, parsed
    keys: list[tuple[int, str, Any]] = field(default_factory=list)   # key.created / key.rotated entries
    log_checkpoints: int = 0
    mark_root: bytes | None = None                        # the tree's root at ``root_at`` entries (``--since``)
    mark_hash: str | None = None                          # the hash of entry ``hash_at``


def read_log(fh: IO[bytes], feed: Feed | None = None, kinds: Collection[str] = (), named: Named | None = None,
             upto: int | None = None, root_at: int = 0, hash_at: int = 0) -> LogPass:
    """Check the chain of ``fh`` (a binary file) from seq 1 and return what it established. Entries up to
    seq ``upto`` (all: None) of ``kinds`` are parsed and fed to ``feed``, the others' canonical payload
    bytes go to ``named``; ``root_at`` > 0 keeps the root of the first ``root_at`` entries, ``hash_at`` > 0
    the hash of that entry (``--since``).

    One pass, in chunks of ``LOG_CHUNK`` bytes: memory is a chunk, one line (at most ``MAX_LINE``) and a
    block of ``BLOCK`` leaf hashes, whatever the log's length."""
    out = LogPass()
    file_hash = hashlib.sha256()
    copy, sha, tree = hashlib.sha256(LOG_DOMAIN).copy, hashlib.sha256, out.tree
    parse = frozenset(k.encode() for k in kinds) if feed is not None else frozenset()
    chain_kinds = frozenset(k.encode() for k in ("log.checkpoint", *KEY_KINDS))   # the chain's own business
    limit = upto if upto is not None else 1 << 62
    raws: list[bytes] = []                        # entry hashes not yet in the tree
    prev, n, last, carry = GENESIS.encode(), 0, b"", b""
    while chunk := fh.read(LOG_CHUNK):
        file_hash.update(chunk)
        lines = (carry + chunk if carry else chunk).split(b"\n")
        carry = lines.pop()
        if len(carry) >= MAX_LINE:
            raise Failed(f"log.jsonl line {n + len(lines) + 1} is longer than {MAX_LINE >> 20} MiB: not a log entry")
        for line in lines:
            n += 1
            if len(line) >= MAX_LINE:
                raise Failed(f"log.jsonl line {n} is longer than {MAX_LINE >> 20} MiB: not a log entry")
            h = line.find(_HASH_KEY)
            entry: dict[str, Any] | None = None
            tail = b',"prev_hash":"%s","seq":%d,"ts":"' % (prev, n)
            if h > 0 and line.endswith(tail, 0, len(line) - 29):
                c = copy()
                c.update(line[:h])
                c.update(line[h + 74:])
                raw = c.digest()
                digest = raw.hex().encode()
                if not line.startswith(digest + _KIND_KEY, h + 9):
                    entry, raw = _strict(line + b"\n", n, prev)
                    digest = raw.hex().encode()
            else:
                entry, raw = _strict(line + b"\n", n, prev)
                digest = raw.hex().encode()
            raws.append(raw)
            if entry is None:
                k_end = line.find(_PAYLOAD_KEY, h + 83)
                kind = line[h + 83:k_end]
                special = kind in chain_kinds
                if n <= limit or special:
                    raw_payload = line[k_end + 12:len(line) - 29 - len(tail)]
                    fed = n <= limit and kind in parse
                    if fed or special:
                        actor_raw = line[9:h]
                        actor = actor_raw[1:-1].decode() if b"\\" not in actor_raw else json.loads(actor_raw)
                        _seen(out, n, line[-29:-2].decode(), kind.decode(), actor, json.loads(raw_payload),
                              raw_payload, prev, feed if fed else None)
                    if not fed and named is not None and n <= limit:
                        named(n, raw_payload)
            else:
                _seen(out, n, entry["ts"], entry["kind"], entry["actor"], entry["payload"], canon(entry["payload"]),
                      prev, feed)
            prev = digest
            if len(raws) == BLOCK or n == root_at:
                tree.extend([sha(b"\x00" + r).digest() for r in raws])
                raws.clear()
                if n == root_at:
                    out.mark_root = tree.root()
            if n == hash_at:
                out.mark_hash = digest.decode()
        if lines:
            last = lines[-1]
    if carry:
        raise Failed(f"log.jsonl line {n + 1} does not end with a newline (the file was cut off)")
    tree.extend([sha(b"\x00" + r).digest() for r in raws])
    out.size, out.head_hash, out.sha256 = n, prev.decode(), file_hash.hexdigest()
    if n:
        out.last = strict_json(last, f"log.jsonl line {n}")
    return out


def _seen(out: LogPass, seq: int, ts: str, kind: str, actor: str, payload: Any, raw: bytes, prev: bytes,
          feed: Feed | None) -> None:
    if kind == "log.checkpoint":
        cert = payload if isinstance(payload, dict) else {}
        if cert.get("seq") != seq - 1 or cert.get("hash") != prev.decode():
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
