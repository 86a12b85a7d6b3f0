"""Reading ``log.jsonl``: its lines in batches, bounded, hashed on the way, and the layout of a line the
log writer produced (SPEC §10). Standard library only (bundled into verify.py).

A line is canonical JSON with sorted keys: ``{"actor":…,"hash":"<64 hex>","kind":"…","payload":…,
"prev_hash":"<64 hex>","seq":N,"ts":"…"}``. ``chain`` checks a line's hash on its bytes where they have
that layout and parses it strictly otherwise, and hands the projection's entries on from the same
reading (``feed``), so the tables are made of the lines exactly as the chain checked them.

Memory: lines come from a buffered reader over the file's bytes; a line may be at most ``MAX_LINE``
bytes, enforced as the bytes arrive (``LongLine``), so a hostile file cannot make the reader hold an
endless line; a batch of lines is about ``BATCH`` bytes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import IO, Any

from gatekeeper.ledger.jsoncodec import loads_strict

MAX_LINE = 64 << 20
BATCH = 1 << 20           # bytes of lines handed on at once (and the reader's buffer)
LOG_DOMAIN = b"gatekeeper.log.v1\x00"
GENESIS = "0" * 64
ENTRY_FIELDS = ("seq", "ts", "kind", "actor", "payload", "prev_hash", "hash")
HASH_KEY = b',"hash":"'
KIND_KEY = b'","kind":"'
PAYLOAD_KEY = b'","payload":'
PREV_KEY = b',"prev_hash":"'
TS_TAIL = 30              # a fast-shaped line ends with a 27-character ts, '"}' and its newline


class Failed(Exception):
    """The first check that failed; its message is what the auditor reads."""


class LongLine(Exception):
    """A line ran past ``MAX_LINE`` bytes (the reader does not know which line it is: its caller does)."""


def strict_json(text: bytes | str, where: str) -> Any:
    """JSON with duplicate keys and NaN/Infinity refused: what a hash covers must be all there is."""
    try:
        return loads_strict(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Failed(f"{where}: not valid JSON ({exc})") from None


class _Raw(io.RawIOBase):
    """The bytes [start, end) of an open file, read at explicit offsets (processes sharing the descriptor do
    not share a position), hashed as they are read when ``digest`` is given, and stopped with ``LongLine``
    once a line runs past ``MAX_LINE`` bytes."""

    def __init__(self, fh: IO[bytes], start: int, end: int | None, digest: Any = None) -> None:
        super().__init__()
        self.fh, self.pos, self.end, self.digest = fh, start, end, digest
        self.open_line = 0                           # bytes since the last newline
        self.fd = fh.fileno() if hasattr(os, "pread") else -1

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        want = len(buf) if self.end is None else min(len(buf), self.end - self.pos)
        if want <= 0:
            return 0
        if self.fd >= 0:
            data = os.pread(self.fd, want, self.pos)
        else:
            self.fh.seek(self.pos)
            data = self.fh.read(want)
        got = len(data)
        buf[:got] = data
        self.pos += got
        if self.digest is not None:
            self.digest.update(data)
        cut = data.rfind(b"\n")
        self.open_line = self.open_line + got if cut < 0 else got - cut - 1
        if self.open_line >= MAX_LINE:
            raise LongLine
        return got


def line_batches(fh: IO[bytes], start: int = 0, end: int | None = None, digest: Any = None
                 ) -> Iterator[list[bytes]]:
    """The lines of ``fh``'s bytes [start, end) (to its end: None), each with its newline (the last one may
    lack it: the file was cut off), about ``BATCH`` bytes of lines at a time; ``digest`` (a hashlib object)
    is updated with every byte read. Raises ``LongLine`` on a line of ``MAX_LINE`` bytes or more."""
    reader = io.BufferedReader(_Raw(fh, start, end, digest), BATCH)
    while batch := reader.readlines(BATCH):
        yield batch

