"""The pass over ``log.jsonl`` on every core (SPEC §12): chain workers and the projection side by side.

Where the system can fork (``os.fork``) and ``jobs`` > 1, the file is cut at line ends into
``PARTS_PER_WORKER`` parts per worker, and worker w takes parts w, w + jobs, w + 2·jobs … in order.
For each part it checks the chain (``chain.Chain``, from the seq and prev_hash the part's first line
claims), reduces its Merkle leaves to perfect subtrees, and sends on, batch by batch, the entries of
the kinds the projection reads (as ``feed.Fed`` tuples, unparsed) and the changes each of its entries
names (``names.changes_named``, the register's ``log_seqs``). This process takes the parts in order,
parses their entries and feeds the projection (``feed.Feeder``) while the workers go on; since each
worker's next part is the next but one, what it sends is wanted soon, and what the pipe cannot take
yet waits in the worker. One more worker hashes the whole file. Then the parts are joined in order:
each must begin at the seq after the last one's end, with the hash of that entry as its prev_hash,
which makes the first lines' claims true; so the joined parts are the whole chain, checked exactly as
one pass checks it.

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
PIPE_SIZE = 1 << 20        # bytes a worker's pipe holds (where the system lets it be set)
PARTS_PER_WORKER = 4       # parts the log is cut into per worker (each worker takes every jobs-th, in order)
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
            done = _parallel(fh, size, _made(make), upto, root_at, hash_at, jobs)
    if done is None:
        projection = _made(make)
        fh.seek(0)
        done = read_log(fh, projection, upto, root_at, hash_at), projection
    if _stamp(fh) != before:
        raise Failed("log.jsonl changed while it was being verified (something wrote to it): verify a copy "
                     "nothing else writes to")
    return done


def _made(make: Callable[[], Projection]) -> Projection:
    """A projection for the pass, which gives it the changes entries name (``names`` off, or each is twice)."""
    projection = make()
    if projection.names:
        raise ValueError("the pass gives the changes entries name itself: make the Projection with names=False")
    return projection


def _stamp(fh: IO[bytes]) -> tuple[int, int, int, int, int]:
    """What changes when anything writes to the file (its change time cannot be set back but with the
    system clock): the parts and this process must have read the same bytes."""
    st = os.fstat(fh.fileno())
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class _Retry(Exception):
    """The parallel pass cannot vouch for the log: the one-process pass decides."""


def _parallel(fh: IO[bytes], size: int, projection: Projection, upto: int, root_at: int, hash_at: int,
              jobs: int) -> tuple[LogPass, Projection]:
    spans = list(pairwise(_cuts(fh, size, jobs * PARTS_PER_WORKER)))
    kinds = list(projection.kinds)
    workers = [_fork(fh, spans[w::jobs], upto, root_at, hash_at, kinds) for w in range(min(jobs, len(spans)))]
    file_hash = in_worker(lambda: _sha256(fh, size), jobs)
    parts: list[Part] = []
    pipes: list[IO[bytes]] = []
    try:
        pipes.extend(os.fdopen(fd, "rb") for _pid, fd in workers)
        feeder = Feeder(projection.add, kinds)
        for k in range(len(spans)):             # part k comes from worker k % jobs, after its parts before
            parts.append(_answer(pipes[k % len(workers)], projection, feeder))
        while workers:
            pid, _fd = workers.pop()
            _pid, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise _Retry
    except BaseException:
        for pid, _fd in workers:                   # whatever failed: the workers not reaped yet are stopped
            _stop(pid)
        raise
    finally:
        for pipe in pipes:
            pipe.close()
        digest = file_hash()
    out = _join(parts, root_at)
    out.sha256 = digest if digest is not None else _sha256(fh, size)
    return out, projection


def _sha256(fh: IO[bytes], size: int) -> str:
    """The SHA-256 of the file's ``size`` bytes (read at explicit offsets: the descriptor is shared)."""
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


def _fork(fh: IO[bytes], spans: list[tuple[int, int]], upto: int, root_at: int, hash_at: int, kinds: list[str]
          ) -> tuple[int, int]:
    """A worker checking the parts ``spans`` (each [start, end)), one after the other: its pid and the pipe it
    answers on. It answers in frames, each its length (8 bytes), a tag and its data: for each part, a batch's
    entries of ``kinds`` and the changes its entries name (``ENTRIES``, marshal) as each batch is done, then the
    part's ``Part`` (``END``, pickle). This process takes the parts in order, from one worker then the next, so
    what the pipe cannot take yet waits in the worker (``_Outbox``) rather than the worker waiting: its parts
    not yet taken, at most (about a part while this process keeps pace)."""
    def work(out: IO[bytes]) -> None:
        box = _Outbox(out.fileno())
        for start, end in spans:
            _part(fh, start, end, upto, root_at, hash_at, kinds, start == 0, box.send)
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
    _widen(w)
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


def _widen(fd: int) -> None:
    """Linux: a pipe of ``PIPE_SIZE`` (a batch's frame at once) rather than 64 KiB, so that a worker's frames
    flow while this process is busy with a batch (elsewhere the pipe stays as it is: slower, not wrong)."""
    with suppress(ImportError, AttributeError, OSError):
        import fcntl  # not on Windows, where there is no fork either
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


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


def _answer(pipe: IO[bytes], projection: Projection, feeder: Feeder) -> Part:
    """A worker's next part: its entries go to ``projection`` batch by batch as they come (a million entries
    are never all held here), then what the worker established about it."""
    while len(head := pipe.read(9)) == 9:
        data = pipe.read(int.from_bytes(head[:8], "little"))
        if head[8:] == ENTRIES:
            entries, pairs = marshal.loads(data)  # noqa: S302  (our own forked worker's answer, our own pipe)
            feeder.apply(entries)
            projection.named_pairs(array("q", pairs))
        else:
            part = pickle.loads(data)  # noqa: S301
            if not isinstance(part, Part):
                break
            return part
    raise _Retry


def _stop(pid: int) -> None:
    """A worker whose answer is no longer wanted: killed and reaped."""
    with suppress(OSError):
        os.kill(pid, signal.SIGKILL)
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
