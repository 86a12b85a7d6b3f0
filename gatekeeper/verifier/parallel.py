"""The pass over ``log.jsonl`` on every core (SPEC §12): chain workers and the projection side by side.

Where the system can fork (``os.fork``) and ``jobs`` > 1, the file is cut at line ends into parts;
a forked worker per part checks that part's chain (``chain.Chain``, from the seq and prev_hash its
first line claims), reduces its Merkle leaves to perfect subtrees, and sends on, batch by batch, the
entries of the kinds the projection reads (as ``feed.Fed`` tuples, unparsed) and the changes each of
its entries names (``names.changes_named``, the register's ``log_seqs``). This process parses those
entries and feeds the projection (``feed.Feeder``), the first part's while its worker is still at it,
and one more worker hashes the whole file. Then the parts are joined in order: each must begin at
the seq after the last one's end, with the hash of that entry as its prev_hash, which makes the
first lines' claims true; so the joined parts are the whole chain, checked exactly as one pass
checks it.

Anything unusual (a worker or the feed failing, parts that do not join, no fork, a short log) and
the one-process pass (``chain.read_log``) runs from the start instead: a failure is found and named
exactly as it always was; the parallel pass only ever speeds up a log that verifies.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import signal
from array import array
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import pairwise
from typing import IO, Any, TypeVar

from gatekeeper.ledger.merkle import TreeBuilder
from gatekeeper.verifier.chain import Chain, LogPass, read_log
from gatekeeper.verifier.feed import Feeder
from gatekeeper.verifier.logread import BATCH, GENESIS, Failed, line_batches, strict_json
from gatekeeper.verifier.projection import Projection

PARALLEL_MIN = 1 << 20     # bytes of log below which one process is quicker than forking
NICE = 5                   # how far a worker not yet waited on gives way (``_yield_cpu``)
ENTRIES, END = b"b", b"e"   # a worker's frames: a batch of entries and names; its Part
T = TypeVar("T")


@dataclass
class Part:
    """What a worker established about its part of the log (sent back pickled)."""

    first: int                       # the seq of its first line
    prev: str                        # the prev_hash its first line claims
    last: int                        # the seq of its last line
    head: str                        # the hash of its last line
    pieces: list[tuple[int, bytes]] = field(default_factory=list)   # perfect subtrees of its leaves, in order
    keys: list[tuple[int, str, Any]] = field(default_factory=list)
    checkpoints: int = 0
    mark_hash: str | None = None
    last_line: bytes = b""


def log_pass(fh: IO[bytes], size: int, make: Callable[[], Projection], upto: int, root_at: int = 0,
             hash_at: int = 0, jobs: int = 0, parallel_min: int | None = None) -> tuple[LogPass, Projection]:
    """The chain of ``fh`` (``size`` bytes) checked and the projection ``make()`` fed with its entries up to
    ``upto``; ``jobs`` worker processes (0: one per core, 1: this process alone) for a log of at least
    ``parallel_min`` bytes (None: ``PARALLEL_MIN``)."""
    before = _stamp(fh)
    jobs = jobs or os.cpu_count() or 1
    least = PARALLEL_MIN if parallel_min is None else parallel_min
    done: tuple[LogPass, Projection] | None = None
    if jobs > 1 and size >= least and hasattr(os, "fork") and hasattr(os, "pread"):
        with suppress(Exception):   # whatever it was, the one-process pass below finds it and names it
            done = _parallel(fh, size, make(), upto, root_at, hash_at, jobs)
    if done is None:
        projection = make()
        fh.seek(0)
        done = read_log(fh, projection, upto, root_at, hash_at), projection
    if _stamp(fh) != before:
        raise Failed("log.jsonl changed while it was being verified (something wrote to it): verify a copy "
                     "nothing else writes to")
    return done


def _stamp(fh: IO[bytes]) -> tuple[int, int, int, int, int]:
    """What changes when anything writes to the file (its change time cannot be set back but with the
    system clock): the parts and this process must have read the same bytes."""
    st = os.fstat(fh.fileno())
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class _Retry(Exception):
    """The parallel pass cannot vouch for the log: the one-process pass decides."""


def _parallel(fh: IO[bytes], size: int, projection: Projection, upto: int, root_at: int, hash_at: int,
              jobs: int) -> tuple[LogPass, Projection]:
    bounds = _cuts(fh, size, jobs)
    kinds = list(projection.kinds)
    workers = [_fork(fh, a, b, upto, root_at, hash_at, kinds, first=a == 0) for a, b in pairwise(bounds)]
    file_hash = in_worker(lambda: _sha256(fh, size, nice=True), jobs)
    parts: list[Part] = []
    try:
        feeder = Feeder(projection.add, kinds)
        while workers:
            pid, fd = workers.pop(0)
            parts.append(_result(pid, fd, projection, feeder))
    finally:
        for pid, fd in workers:                     # not heard from: stopped
            _stop(pid, fd)
        digest = file_hash()
    out = _join(parts, root_at)
    out.sha256 = digest if digest is not None else _sha256(fh, size)
    return out, projection


def _yield_cpu() -> None:
    """A worker whose result is not wanted yet gives way (``nice``) to the first part's worker and to this
    process, which feed the projection: the pass waits on them."""
    with suppress(OSError, AttributeError):
        os.nice(NICE)


def _sha256(fh: IO[bytes], size: int, nice: bool = False) -> str:
    """The SHA-256 of the file's ``size`` bytes (read at explicit offsets: the descriptor is shared)."""
    if nice:
        _yield_cpu()
    digest, at = hashlib.sha256(), 0
    while at < size:
        data = os.pread(fh.fileno(), min(BATCH, size - at), at)
        if not data:
            break
        digest.update(data)
        at += len(data)
    return digest.hexdigest()


def _cuts(fh: IO[bytes], size: int, jobs: int) -> list[int]:
    """Offsets that start a line, cutting the file into ``jobs`` parts of about equal size (fewer when a
    line is long), from 0 to ``size``."""
    cuts = [0]
    for k in range(1, jobs):
        at = max(size * k // jobs, cuts[-1])
        window = os.pread(fh.fileno(), 1 << 16, at)
        nl = window.find(b"\n")
        if nl >= 0 and at + nl + 1 < size:
            cuts.append(at + nl + 1)
    cuts.append(size)
    return sorted(set(cuts))


def _fork(fh: IO[bytes], start: int, end: int, upto: int, root_at: int, hash_at: int, kinds: list[str],
          first: bool) -> tuple[int, int]:
    """A worker checking the part [start, end): its pid and the pipe it answers on. It answers in frames,
    each its length (8 bytes), a tag and its data: a batch's entries of ``kinds`` and the changes its entries
    name (``ENTRIES``, marshal), then its ``Part`` (``END``, pickle). This process takes the parts in order
    (so does the projection), so a later part's frames wait in its worker (``_Outbox``) while the pipe is
    full, and its worker gives way (``_yield_cpu``) to the ones being waited on."""
    def work(out: IO[bytes]) -> None:
        if not first:
            _yield_cpu()
        box = _Outbox(out.fileno())
        _part(fh, start, end, upto, root_at, hash_at, kinds, first, box.send)
        box.close()
    return _spawn(work)


class _Outbox:
    """Frames written to a pipe without waiting: what the pipe cannot take yet is kept, and written as it
    drains (at each ``send``), the rest at ``close``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending: deque[memoryview] = deque()
        os.set_blocking(fd, False)

    def send(self, tag: bytes, data: bytes) -> None:
        self.pending.append(memoryview(len(data).to_bytes(8, "little") + tag + data))
        self._flush()

    def close(self) -> None:
        os.set_blocking(self.fd, True)
        self._flush()

    def _flush(self) -> None:
        pending = self.pending
        while pending:
            try:
                n = os.write(self.fd, pending[0])
            except BlockingIOError:
                return
            if n < len(pending[0]):
                pending[0] = pending[0][n:]
            else:
                pending.popleft()


def _spawn(work: Callable[[IO[bytes]], object]) -> tuple[int, int]:
    """A forked worker doing ``work`` (which writes its answer to the pipe it is given): its pid and the
    pipe's reading end. The worker never returns into the caller's code, and ends with exit status 1
    whatever went wrong (the caller then does the work itself)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            with os.fdopen(w, "wb") as out:
                work(out)
            code = 0
        except BaseException:  # noqa: S110  (whatever it was, the caller's own work finds it and names it)
            pass
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def in_worker(fn: Callable[[], T], jobs: int = 0) -> Callable[[], T | None]:
    """``fn()`` started in a forked worker while this process goes on; the call returned waits for its result
    (pickled back), or gives None when there is no answer: ``jobs`` 1, no fork, or the worker failed (the
    caller then does the work itself). Call it once."""
    if (jobs or os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return lambda: None
    pid, fd = _spawn(lambda out: out.write(pickle.dumps(fn(), pickle.HIGHEST_PROTOCOL)))

    def result() -> T | None:
        with os.fdopen(fd, "rb") as pipe:
            data = pipe.read()
        _pid, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not data:
            return None
        answer: T = pickle.loads(data)  # noqa: S301  (our own forked worker's answer, on our own pipe)
        return answer
    return result


def _part(fh: IO[bytes], start: int, end: int, upto: int, root_at: int, hash_at: int, kinds: list[str],
          first: bool, send: Callable[[bytes, bytes], None]) -> None:
    """Check the lines of [start, end), from the seq and prev_hash its first line claims; each batch's entries
    of ``kinds`` and the changes its entries name are sent on as they are found, then what it established."""
    pairs = array("q")
    batches = line_batches(fh, start, end)
    lines = next(batches, [])
    seq, prev = (1, GENESIS) if first else _claim(lines[0] if lines else b"")
    chain = Chain(seq, prev, root_at=root_at, hash_at=hash_at, pairs=pairs, upto=upto, kinds=kinds)
    while lines:
        chain.check(lines)
        if chain.entries or pairs:
            send(ENTRIES, marshal.dumps((chain.entries, pairs.tobytes())))
            chain.entries.clear()
            del pairs[:]
        lines = next(batches, [])
    out = chain.close()
    send(END, pickle.dumps(Part(seq, prev, out.size, out.head_hash, chain.pieces, out.keys, out.log_checkpoints,
                                out.mark_hash, chain.last), pickle.HIGHEST_PROTOCOL))


def _claim(line: bytes) -> tuple[int, str]:
    """The seq and prev_hash a part's first line claims (true when the parts join)."""
    entry = strict_json(line, "log.jsonl")
    if not isinstance(entry, dict) or type(entry.get("seq")) is not int or not isinstance(entry.get("prev_hash"), str):
        raise _Retry
    return entry["seq"], entry["prev_hash"]


def _result(pid: int, fd: int, projection: Projection, feeder: Feeder) -> Part:
    """A worker's answer, once it ended well; its entries go to ``projection`` batch by batch as they come
    (a million entries are never all held here). The worker is reaped (stopped first, if anything failed)."""
    part: Part | None = None
    try:
        with os.fdopen(fd, "rb") as pipe:
            while part is None and len(head := pipe.read(9)) == 9:
                data = pipe.read(int.from_bytes(head[:8], "little"))
                if head[8:] == ENTRIES:
                    entries, pairs = marshal.loads(data)  # noqa: S302  (our own forked worker's answer, our own pipe)
                    feeder.apply(entries)
                    projection.named_pairs(array("q", pairs))
                else:
                    part = pickle.loads(data)  # noqa: S301
            rest = pipe.read(1)
    except BaseException:
        _stop(pid, None)
        raise
    _pid, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not isinstance(part, Part) or rest:
        raise _Retry
    return part


def _stop(pid: int, fd: int | None) -> None:
    """A worker whose answer is no longer wanted: killed, its pipe closed, reaped."""
    with suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    if fd is not None:
        with suppress(OSError):
            os.close(fd)
    with suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _join(parts: list[Part], root_at: int) -> LogPass:
    """The parts as one chain: each begins where the one before ended."""
    out = LogPass(tree=TreeBuilder())
    seq, head = 0, GENESIS
    for part in parts:
        if part.first != seq + 1 or part.prev != head or part.last < part.first:
            raise _Retry
        for level, h in part.pieces:
            out.tree.add_perfect(level, h)
            if out.tree.size == root_at:
                out.mark_root = out.tree.root()
        out.keys.extend(part.keys)
        out.log_checkpoints += part.checkpoints
        out.mark_hash = part.mark_hash or out.mark_hash
        seq, head = part.last, part.head
    if out.tree.size != seq or (0 < root_at <= seq and out.mark_root is None):
        raise _Retry
    out.size, out.head_hash, out.parts = seq, head, len(parts)
    out.last = strict_json(parts[-1].last_line, f"log.jsonl line {seq}") if seq else None
    return out
