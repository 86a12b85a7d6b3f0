"""``log.jsonl`` of a pack: its hash chain and Merkle tree (SPEC §8, §10, §12). Pure but for reading the file.

For every line: (1) seq runs 1, 2, 3 … with no gap, (2) prev_hash is the hash of the entry before
(64 zeros for seq 1), (3) the hash recomputes as sha256(b"gatekeeper.log.v1\\x00" + canon({seq, ts,
kind, actor, payload, prev_hash})), (4) every ``log.checkpoint`` entry certifies the entry before
it; and the leaves of the Merkle tree (the entries' hashes) are collected. ``Chain`` does this for a
run of consecutive lines (the whole log, or one worker's part: ``parallel``); ``read_log`` is the
whole pass in one process, the projection fed (``feed``) and the file hashed on the way. Memory is
a batch of lines (``logread``) and a block of ``BLOCK`` leaf hashes; the tree keeps only its right
edge (O(log n) hashes), whatever the log's length.

Speed: a line the writer produced is canonical JSON with its keys sorted, so its hash is checked on
the bytes themselves, without parsing (the same reasoning as ``gatekeeper/ledger/verify.py``: the
only lines this path accepts are the ones whose bytes hash to their own ``hash`` member, and such a
line is exactly the writer's, since a signed tree covers that hash). Anything else takes the strict
path, which parses the line (duplicate keys refused) and names what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from binascii import hexlify
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import IO, Any

from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.ledger.merkle import TreeBuilder, perfect_subtrees
from gatekeeper.verifier.feed import Fed, Feeder, Projected
from gatekeeper.verifier.logread import (
    ENTRY_FIELDS,
    GENESIS,
    HASH_KEY,
    KIND_KEY,
    LOG_DOMAIN,
    MAX_LINE,
    PAYLOAD_KEY,
    PREV_KEY,
    TS_TAIL,
    Failed,
    LongLine,
    line_batches,
    strict_json,
)
from gatekeeper.verifier.names import names_of

BLOCK = 4096             # leaf hashes reduced to the tree at once (perfect_subtrees)
KEY_KINDS = ("key.created", "key.rotated")
CHAIN_KINDS = frozenset(k.encode() for k in ("log.checkpoint", *KEY_KINDS))   # the chain's own business
_CHAIN_FIRST = frozenset(k[0] for k in CHAIN_KINDS)                            # their first byte


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
    parts: int = 1                                        # processes that checked parts of the chain (``parallel``)


class Chain:
    """The chain check of consecutive lines from seq ``first``, whose entry before has the hash ``prev``.

    Leaves go to ``tree`` (the whole log from seq 1) or, for a part of the log, into ``pieces``: the perfect
    subtrees (level, hash) they make, which the whole tree adds in order (``TreeBuilder.add_perfect``); a
    piece ends at ``root_at`` so that the root there can be taken (``--since``)."""

    def __init__(self, first: int = 1, prev: str = GENESIS, tree: TreeBuilder | None = None, root_at: int = 0,
                 hash_at: int = 0, pairs: array[int] | None = None, upto: int = 0,
                 kinds: Collection[str] = ()) -> None:
        self.n, self.prev = first - 1, prev.encode()
        # Of the entries up to seq ``upto``: the changes each names go to ``pairs`` (change, seq, change, seq …),
        # and those of ``kinds`` to ``entries`` (``feed.Fed``: their fields as the line holds them, unparsed),
        # which the caller takes after each ``check`` (``feed.Feeder`` parses and hands them on).
        self.pairs, self.upto = pairs, upto
        self.kinds = frozenset(k.encode() for k in kinds)
        self.entries: list[Fed] = []
        self.out = LogPass(tree=tree or TreeBuilder())
        self.whole = tree is not None
        self.pieces: list[tuple[int, bytes]] = []
        self.raws: list[bytes] = []                   # entry hashes not yet in the tree
        self.root_at, self.hash_at = root_at, hash_at
        self.last = b""

    def check(self, lines: list[bytes]) -> None:
        """The next lines (each with its newline; a last one without is a file cut off)."""
        cut = lines[-1][-1:] != b"\n"
        if cut:
            lines = lines[:-1]
        copy, raws, prev, n = hashlib.sha256(LOG_DOMAIN).copy, self.raws, self.prev, self.n
        root_at, hash_at, chain_first = self.root_at, self.hash_at, _CHAIN_FIRST
        pairs, upto, kinds, entries = self.pairs, self.upto, self.kinds, self.entries
        before = n
        for line in lines:
            n += 1
            h = line.find(HASH_KEY)
            tail = b'%s%s","seq":%d,"ts":"' % (PREV_KEY, prev, n)
            if h > 0 and line.endswith(tail, 0, len(line) - TS_TAIL):
                c = copy()
                c.update(line[:h])
                c.update(line[h + 74:-1])
                raw = c.digest()
                digest = hexlify(raw)
                if not line.startswith(digest + KIND_KEY, h + 9):
                    raw = self._strict(line, n, prev)
                    digest = hexlify(raw)
                elif n <= upto or line[h + 83] in chain_first:
                    # the line is the writer's, byte for byte: its fields are where its layout puts them
                    k_end = line.find(PAYLOAD_KEY, h + 83)
                    end = len(line) - TS_TAIL - len(tail)
                    if line[h + 83] in chain_first:
                        self._chain_kind(line[h + 83:k_end], line[k_end + 12:end], n, prev)
                    if n <= upto:
                        kind = line[h + 83:k_end]
                        if kind in kinds:
                            entries.append((n, kind, line[9:h], line[-TS_TAIL:-3].decode(),
                                            line[k_end + 12:end].decode("utf-8", "surrogatepass")))
            else:
                raw = self._strict(line, n, prev)
                digest = hexlify(raw)
            raws.append(raw)
            prev = digest
            if len(raws) == BLOCK or n == root_at:
                self.n = n
                self._flush()
            if n == hash_at:
                self.out.mark_hash = digest.decode()
        if pairs is not None and before < upto:
            names_of(lines[:upto - before], before + 1, pairs)
        self.n, self.prev = n, prev
        if lines:
            self.last = lines[-1]
        if cut:
            raise Failed(f"log.jsonl line {n + 1} does not end with a newline (the file was cut off)")

    def close(self) -> LogPass:
        """The pass's result once every line was checked (``sha256`` and ``last`` are the caller's)."""
        self._flush()
        out = self.out
        out.size, out.head_hash = self.n, self.prev.decode()
        return out

    def long_line(self) -> Failed:
        return Failed(f"log.jsonl line {self.n + 1} is longer than {MAX_LINE >> 20} MiB: not a log entry")

    def _flush(self) -> None:
        raws = self.raws
        if not raws:
            return
        sha = hashlib.sha256
        leaves = [sha(b"\x00" + r).digest() for r in raws]
        start = self.n - len(raws)                     # the leaf index of the first (seq - 1)
        if self.whole:
            tree = self.out.tree
            for level, h in perfect_subtrees(start, leaves):
                tree.add_perfect(level, h)
            if self.n == self.root_at:
                self.out.mark_root = tree.root()
        else:
            self.pieces.extend(perfect_subtrees(start, leaves))
        raws.clear()

    def _chain_kind(self, kind: bytes, payload: bytes, n: int, prev: bytes) -> None:
        """A fast-path line whose kind may be the chain's own business (checkpoints, keys)."""
        if kind in CHAIN_KINDS:
            self._seen(n, kind.decode(), json.loads(payload), prev)

    def _seen(self, seq: int, kind: str, payload: Any, prev: bytes) -> None:
        out = self.out
        if kind == "log.checkpoint":
            cert = payload if isinstance(payload, dict) else {}
            if cert.get("seq") != seq - 1 or cert.get("hash") != prev.decode():
                raise Failed(f"log.jsonl seq {seq}: the log.checkpoint does not certify the entry before it")
            out.log_checkpoints += 1
        elif kind in KEY_KINDS:
            out.keys.append((seq, kind, payload))

    def _strict(self, line: bytes, n: int, prev: bytes) -> bytes:
        entry, raw = strict_entry(line, n, prev)
        self._seen(n, entry["kind"], entry["payload"], prev)
        kind = entry["kind"].encode()
        if n <= self.upto and kind in self.kinds:
            self.entries.append((n, kind, canon(entry["actor"]), entry["ts"], canon(entry["payload"]).decode()))
        return raw


def strict_entry(line: bytes, n: int, prev: bytes | None) -> tuple[dict[str, Any], bytes]:
    """The field-by-field check of a line (with its newline) the fast path did not accept; raises naming the
    reason. ``prev`` None: the entry before is not known here (its prev_hash is taken as it is)."""
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
    if prev is not None and entry["prev_hash"] != prev.decode():
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


def read_log(fh: IO[bytes], projection: Projected | None = None, upto: int | None = None, root_at: int = 0,
             hash_at: int = 0) -> LogPass:
    """Check the chain of ``fh`` (a binary file) from seq 1 and return what it established, in one process.
    The entries up to seq ``upto`` (all: None) go to ``projection``: those of its kinds parsed (``Feeder``),
    and the changes every one of them names; ``root_at`` > 0 keeps the root of the first ``root_at``
    entries, ``hash_at`` > 0 the hash of that entry (``--since``)."""
    pairs = array("q") if projection is not None else None
    chain = Chain(tree=TreeBuilder(), root_at=root_at, hash_at=hash_at, pairs=pairs,
                  upto=(1 << 62 if upto is None else upto) if projection is not None else 0,
                  kinds=projection.kinds if projection is not None else ())
    feeder = Feeder(projection.add, projection.kinds) if projection is not None else None
    file_hash = hashlib.sha256()
    try:
        for lines in line_batches(fh, digest=file_hash):
            chain.check(lines)
            if feeder is not None and projection is not None and pairs is not None:
                feeder.apply(chain.entries)
                chain.entries.clear()
                projection.named_pairs(pairs)
                del pairs[:]
    except LongLine:
        raise chain.long_line() from None
    out = chain.close()
    out.sha256 = file_hash.hexdigest()
    if out.size:
        out.last = strict_json(chain.last, f"log.jsonl line {out.size}")
    return out
