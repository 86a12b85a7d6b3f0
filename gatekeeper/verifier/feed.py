"""The projection's side of a pass over ``log.jsonl``: each line's entry handed on (SPEC §12). Stdlib only.

A line is read at the places the chain's fast path checks (``chain.Chain.check``) exactly when it
has the layout that path requires, less what depends on the entry before: the hash member is 64
characters followed by the kind, the tail is ``,"prev_hash":"<64>","seq":<this seq>,"ts":"`` and a
27-character ts. In a log the chain accepts, such a line is one the chain checked on its bytes (had
it taken the strict path, the line would be canonical and its bytes would have hashed right), and
any other line is canonical: it is parsed here too. So the projection reads every line as the chain
read it, whether or not the two run in the same process (``parallel``).

Only the payloads of the kinds the projection reads are decoded (``json``'s scanner on the text,
without ``json.loads``' wrapper, same result); the others' bytes go to ``named`` unparsed, or nowhere
when the changes they name come from elsewhere (``parallel``'s workers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.verifier.logread import (
    ENTRY_FIELDS,
    HASH_KEY,
    KIND_KEY,
    PAYLOAD_KEY,
    PREV_KEY,
    TS_TAIL,
    Failed,
    strict_json,
)

Feed = Callable[[int, str, str, str, Any, bytes], None]    # (seq, ts, kind, actor, payload, canonical payload)
Named = Callable[[int, bytes], None]                       # (seq, payload bytes) of an entry not parsed
NamedMany = Callable[[list[bytes], list[int]], None]       # the same of many entries: (payloads, seqs)
SMALL_CACHE = 4096        # distinct kinds and actors remembered as text (a hostile log may have a million)


class Feeder:
    """Hands the entries of consecutive lines from seq 1 to ``feed`` (those of ``kinds``, parsed) or ``named``
    (the others, their canonical payload bytes), up to seq ``upto`` (all: None)."""

    def __init__(self, feed: Feed, kinds: Collection[str], named: Named | None, upto: int | None) -> None:
        self.on_feed, self.on_named = feed, named
        self.parse = {k.encode(): k for k in kinds}         # the kinds fed, as bytes -> as text
        self.upto = upto if upto is not None else 1 << 62
        self.n = 0
        self.texts: dict[bytes, str] = {}                  # actor bytes -> text
        self.scan: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]   # its C scanner

    def feed(self, lines: list[bytes]) -> None:
        """The next lines (each with its newline; a cut-off last line is the chain's to report)."""
        n, upto, parse, on_named = self.n, self.upto, self.parse, self.on_named
        for line in lines:
            n += 1
            if n > upto:
                break
            h = line.find(HASH_KEY)
            if h <= 0 or not line.startswith(KIND_KEY, h + 73):
                self._strict(line, n)
                continue
            k_end = line.find(PAYLOAD_KEY, h + 83)
            kind = parse.get(line[h + 83:k_end])
            if kind is None and on_named is None:
                continue
            seq_part = b'","seq":%d,"ts":"' % n
            end = len(line) - TS_TAIL - len(seq_part)
            if not line.endswith(seq_part, 0, end + len(seq_part)) or not line.startswith(PREV_KEY, end - 78):
                self._strict(line, n)
            elif kind is not None:
                self._fed(line, n, h, kind, line[k_end + 12:end - 78])
            elif on_named is not None:
                on_named(n, line[k_end + 12:end - 78])
        self.n += len(lines)

    def _fed(self, line: bytes, n: int, h: int, kind: str, raw: bytes) -> None:
        """One entry of a kind the projection reads: its payload decoded, its fields as text."""
        text = raw.decode("utf-8", "surrogatepass")   # as json.loads decodes bytes
        try:
            payload, end = self.scan(text, 0)
        except StopIteration:
            raise Failed(f"log.jsonl line {n}: the payload is not valid JSON") from None
        if end != len(text):
            raise Failed(f"log.jsonl line {n}: the payload is not valid JSON (extra data at {end})")
        self._hand(n, line[-TS_TAIL:-3].decode(), kind, self._text(line[9:h]), payload, raw)

    def _text(self, raw: bytes) -> str:
        """A JSON string (an actor) as text, remembered while there are few."""
        text = self.texts.get(raw)
        if text is None:
            text = raw[1:-1].decode() if b"\\" not in raw else json.loads(raw)
            if len(self.texts) < SMALL_CACHE:
                self.texts[raw] = text
        return text

    def _strict(self, line: bytes, n: int) -> None:
        """A line not of the writer's layout: parsed (the chain checks it field by field as well)."""
        entry = strict_json(line, f"log.jsonl line {n}")
        if not isinstance(entry, dict) or sorted(entry) != sorted(ENTRY_FIELDS):
            raise Failed(f"log.jsonl line {n}: an entry holds exactly the fields {', '.join(ENTRY_FIELDS)}")
        kind = entry["kind"]
        if isinstance(kind, str) and kind.encode() in self.parse:
            self._hand(n, entry["ts"], kind, entry["actor"], entry["payload"], canon(entry["payload"]))
        elif self.on_named is not None:
            self.on_named(n, canon(entry["payload"]))

    def _hand(self, seq: int, ts: str, kind: str, actor: str, payload: Any, raw: bytes) -> None:
        try:
            self.on_feed(seq, ts, kind, actor, payload, raw)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise Failed(f"log.jsonl seq {seq} ({kind}): a payload the tables cannot be made of "
                         f"({type(exc).__name__}: {exc})") from None

