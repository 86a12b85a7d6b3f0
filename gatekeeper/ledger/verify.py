"""Verification of the change log (SPEC §8, §10), offline and pure: streaming, constant memory.

The checks, in SPEC §8's order. The first failure raises ``LedgerBroken(seq, reason)`` naming the
first bad sequence number:

  (1) seq runs 1, 2, 3 … with no gap, duplicate or reordering;
  (2) prev_hash links each entry to the hash of the one before (64 zeros for seq 1);
  (3) the hash recomputes from the entry's own fields (an edited entry's does not);
  (4) each checkpoint's Ed25519 signature is valid for the public key;
  (5) each checkpoint's (seq, hash) is in the chain;
  (6) the chain does not end before a checkpoint's seq (truncation behind it).

Checkpoints are the ones given (files an auditor kept, a Git anchor) plus the ``log.checkpoint``
entries in the log itself. Checks (1)–(3) alone show that the log is self-consistent, not that
nobody rewrote it from some point on; only a signed checkpoint kept elsewhere shows that.

Speed: every input is reduced to export lines (``ledger.jsonl``) and one loop hashes each line's
bytes minus its ``"hash"`` member, without parsing JSON. A line the writer produced is accepted by
that fast path exactly when the field-by-field check (``_check_parsed``) would accept it; any line
the fast path does not accept goes to the field-by-field check, which names what is wrong. (A
hand-made line could pass the fast path yet be malformed JSON; it could only sit after the last
checkpoint, since bytes the writer did not hash cannot match a signed hash, and a log is only ever
proven up to its last checkpoint.)
"""

from __future__ import annotations

import binascii
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gatekeeper.errors import InputError, LedgerBroken
from gatekeeper.ledger.checkpoint import Checkpoint, key_id, verify_signature
from gatekeeper.ledger.entry import GENESIS_HASH, LOG_DOMAIN
from gatekeeper.ledger.events.system import LOG_CHECKPOINT
from gatekeeper.ledger.jsonl import entry_line, parse_line, row_line

PROGRESS_EVERY = 16_384
_NEVER = 1 << 62
_HASH_KEY = b',"hash":"'        # first member after "actor": the top-level hash (see ledger.jsonl)
_KIND_KEY = b'","kind":"'       # closes the hash; kind follows it
_CHECKPOINT_KIND = b',"kind":"' + LOG_CHECKPOINT.encode() + b'"'
_DOMAIN_STATE = hashlib.sha256(LOG_DOMAIN)  # copied per line: cheaper than hashing the tag again
_BAD_SIGNATURE = "checkpoint signature is invalid (the checkpoint was forged or altered)"

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Summary:
    """What a successful verification covered."""

    count: int
    head_seq: int
    head_hash: str
    checkpoints: int          # given checkpoints met in the chain, signatures valid
    log_checkpoints: int      # log.checkpoint entries whose signature was verified
    unsigned_log_checkpoints: int  # log.checkpoint entries checked without signature (no key, other key)
    key_id: str | None

    def describe(self) -> str:
        text = f"log intact: {self.count} entries, head seq {self.head_seq} hash {self.head_hash}"
        if self.key_id is None:
            return text + "; no public key, so no signature was checked"
        text += (f"; {self.checkpoints} checkpoint(s) given and {self.log_checkpoints} in the log verified"
                 f" with key {self.key_id}")
        if self.unsigned_log_checkpoints:
            text += f"; {self.unsigned_log_checkpoints} in the log signed by another key (not checked)"
        return text


def verify(entries: Iterable[Any], checkpoints: Sequence[Checkpoint] = (),
           public_key: Ed25519PublicKey | None = None, *, progress: Progress | None = None) -> Summary:
    """Verify ``Entry`` values (in memory, from the API)."""
    return verify_lines(map(entry_line, entries), checkpoints, public_key, progress=progress)


def verify_rows(rows: Iterable[Sequence[Any]], checkpoints: Sequence[Checkpoint] = (),
                public_key: Ed25519PublicKey | None = None, *, progress: Progress | None = None) -> Summary:
    """Verify stored rows ``(seq, ts, kind, actor, payload_text, prev_hash, hash)`` in seq order."""
    return verify_lines(itertools.starmap(row_line, rows), checkpoints, public_key, progress=progress)


def verify_lines(lines: Iterable[bytes], checkpoints: Sequence[Checkpoint] = (),
                 public_key: Ed25519PublicKey | None = None, *, progress: Progress | None = None) -> Summary:
    """Verify export lines (bytes, one entry each) from seq 1; ``progress(n)`` is called now and then."""
    anchors = _Anchors(checkpoints, public_key)
    # Locals, not globals: this loop runs a million times.
    copy, hexlify, hash_key, kind_key = _DOMAIN_STATE.copy, binascii.hexlify, _HASH_KEY, _KIND_KEY
    every = PROGRESS_EVERY if progress else _NEVER
    tick = every
    stop = min(anchors.next_seq(), tick)
    n = 1
    prev = before = GENESIS_HASH.encode()  # hashes of seq n-1 and n-2
    try:
        for line in lines:
            h = line.find(hash_key)
            # (1) seq and (2) prev_hash together: the line ends ,"prev_hash":"<prev>","seq":<n>,"ts":"<ts>"}
            # and the writer's ts (store.log.utc_now) is 27 characters; any other length takes the slow path.
            if h > 0 and line.endswith(b',"prev_hash":"%s","seq":%d,"ts":"' % (prev, n), 0, len(line) - 30):
                # (3) SHA-256 of the domain tag and the line minus ,"hash":"<64 hex>" (and its newline)
                c = copy()
                c.update(line[:h])
                c.update(line[h + 74:-1])
                digest = hexlify(c.digest())
                if not line.startswith(digest + kind_key, h + 9):
                    digest = _check_parsed(line, n, prev, before, anchors)
                elif line[h + 83] == 108 and line.startswith(_CHECKPOINT_KIND, h + 74):  # 108: "l"
                    anchors.in_log(n, json.loads(line)["payload"], prev.decode())
            else:
                digest = _check_parsed(line, n, prev, before, anchors)
            before, prev = prev, digest
            if n == stop:
                anchors.reach(n, prev.decode())
                if progress is not None and n >= tick:
                    progress(n)
                    tick += every
                stop = min(anchors.next_seq(), tick)
            n += 1
    except IndexError as exc:  # a line too short for the fast path's offsets: malformed
        raise InputError(f"line {n}: not an export line") from exc
    head = n - 1
    anchors.finish(head)
    if progress is not None:
        progress(head)
    return Summary(count=head, head_seq=head, head_hash=prev.decode(), checkpoints=anchors.checked,
                   log_checkpoints=anchors.log_signed, unsigned_log_checkpoints=anchors.log_unsigned,
                   key_id=anchors.kid)


def _check_parsed(line: bytes, n: int, prev: bytes, before: bytes, anchors: _Anchors) -> bytes:
    """The field-by-field check of a line the fast path did not accept; raises with the reason.

    ``prev`` and ``before`` are the hashes of seq n-1 and n-2.
    """
    entry = parse_line(line, n)
    # (1) seq
    if entry.seq < 1:
        raise LedgerBroken(n, f"seq {entry.seq} is not a sequence number")
    if entry.seq > n:
        follows = f"follows seq {n - 1}" if n > 1 else "is the first entry"
        raise LedgerBroken(n, f"entry missing: seq {entry.seq} {follows}")
    if entry.seq < n:
        raise LedgerBroken(entry.seq, f"seq {entry.seq} appears again after seq {n - 1} "
                                      "(duplicate or reordered)")
    try:
        computed = entry.computed_hash()
    except (TypeError, ValueError) as exc:
        raise InputError(f"line {n}: payload is not canonical JSON ({exc})") from exc
    # (2) prev_hash
    if entry.prev_hash != prev.decode():
        if n == 1:
            raise LedgerBroken(1, "prev_hash is not the genesis hash (64 zeros)")
        if n > 2 and entry.prev_hash == before.decode():  # two entries claim the same predecessor
            raise LedgerBroken(n - 1, f"entry inserted: seq {n} links to seq {n - 2}, not to seq {n - 1}")
        if computed == entry.hash:  # this entry is intact, so the one before it changed
            raise LedgerBroken(n - 1, f"hash does not match the prev_hash recorded by seq {n} "
                                      "(the entry was edited and rehashed)")
        raise LedgerBroken(n, f"prev_hash does not match the hash of seq {n - 1}")
    # (3) hash
    if computed != entry.hash:
        raise LedgerBroken(n, "hash does not recompute from the entry's fields (the entry was edited)")
    if entry.kind == LOG_CHECKPOINT:
        anchors.in_log(n, entry.payload, prev.decode())
    return computed.encode()


class _Anchors:
    """The checkpoints the chain must meet, in seq order; their signatures (4) are checked up front."""

    def __init__(self, checkpoints: Sequence[Checkpoint], public_key: Ed25519PublicKey | None) -> None:
        if checkpoints and public_key is None:
            raise InputError("checking a checkpoint needs the public key (--public-key)")
        self.key = public_key
        self.kid = key_id(public_key) if public_key is not None else None
        for cp in checkpoints:
            if cp.key_id != self.kid:
                raise InputError(f"the checkpoint of seq {cp.seq} was signed with key {cp.key_id}, "
                                 f"not with the given public key ({self.kid})")
        # Popped from the end, lowest seq first.
        self.pending = sorted(((cp.seq, cp.hash, verify_signature(cp, public_key)) for cp in checkpoints
                               if public_key is not None), reverse=True)
        self.checked = self.log_signed = self.log_unsigned = 0

    def next_seq(self) -> int:
        return self.pending[-1][0] if self.pending else _NEVER

    def reach(self, seq: int, hash: str) -> None:
        """The chain has reached ``seq`` with ``hash``: meet every checkpoint of that seq."""
        while self.pending and self.pending[-1][0] == seq:
            _, signed_hash, signature_ok = self.pending.pop()
            # (4) signature
            if not signature_ok:
                raise LedgerBroken(seq, _BAD_SIGNATURE)
            # (5) (seq, hash) in the chain
            if signed_hash != hash:
                raise LedgerBroken(seq, f"hash {hash[:16]}… differs from the signed checkpoint's "
                                        f"{signed_hash[:16]}… (the log was rewritten up to here)")
            self.checked += 1

    def finish(self, head: int) -> None:
        if not self.pending:
            return
        seq, _, signature_ok = self.pending.pop()
        if not signature_ok:
            raise LedgerBroken(seq, _BAD_SIGNATURE)
        # (6) truncation behind a checkpoint
        raise LedgerBroken(head + 1, f"the log ends at seq {head} but a signed checkpoint covers seq {seq}: "
                                     f"entries {head + 1}..{seq} are missing (truncated)")

    def in_log(self, seq: int, payload: Any, prev_hash: str) -> None:
        """A ``log.checkpoint`` entry at ``seq`` certifies the entry before it (``store.log``)."""
        try:
            cp = Checkpoint.from_dict(payload, f"the log.checkpoint entry at seq {seq}")
        except InputError as exc:
            raise LedgerBroken(seq, exc.message) from exc
        if self.key is not None and cp.key_id == self.kid:
            # (4) signature
            if not verify_signature(cp, self.key):
                raise LedgerBroken(seq, "log.checkpoint " + _BAD_SIGNATURE)
            self.log_signed += 1
        else:
            self.log_unsigned += 1
        # (5) (seq, hash) in the chain
        if cp.seq != seq - 1:
            raise LedgerBroken(seq, f"log.checkpoint certifies seq {cp.seq}, not the entry before it")
        if cp.hash != prev_hash:
            raise LedgerBroken(seq - 1, f"hash differs from the one signed by the log.checkpoint at seq "
                                        f"{seq} (the log was rewritten up to here)")
