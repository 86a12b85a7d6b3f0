"""The projection's side of a pass over ``log.jsonl``: each line's entry handed on (SPEC §12). Stdlib only.

A line of the writer's layout (``logread.kind_at``, ``logread.payload_end``) is read at the places the chain checked:
ts, kind, actor and the payload's canonical bytes; only the payloads of the kinds the projection
reads are decoded (``json``'s scanner on the text, without ``json.loads``' wrapper, same result), the
others' bytes go to ``named`` unparsed. Any other line is parsed strictly (``chain.strict_entry``
checks it too). This is separate from the chain check so that it can run in another process than
the chain (``parallel``); the caller makes sure the chain holds for the very same lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.verifier.logread import (
    ENTRY_FIELDS,
    PAYLOAD_KEY,
    TS_TAIL,
    Failed,
    kind_at,
    payload_end,
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
        self.parse = frozenset(k.encode() for k in kinds)
        self.upto = upto if upto is not None else 1 << 62
        self.n = 0
        self.texts: dict[bytes, str] = {}                  # kind or actor bytes -> text
        self.scan: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]   # its C scanner

    def feed(self, lines: list[bytes]) -> None:
        """The next lines (each with its newline; a cut-off last line is the chain's to report)."""
        n, upto, parse, on_named = self.n, self.upto, self.parse, self.on_named
        for line in lines:
            n += 1
            if n > upto:
                break
            h = kind_at(line)
            if h < 0:
                self._strict(line, n)
                continue
            k_end = line.find(PAYLOAD_KEY, h + 83)
            kind = line[h + 83:k_end]
            if kind in parse:
                end = payload_end(line, n)
                if end < 0:
                    self._strict(line, n)
                else:
                    self._fed(line, n, h, kind, line[k_end + 12:end])
            elif on_named is not None:
                end = payload_end(line, n)
                if end < 0:
                    self._strict(line, n)
                else:
                    on_named(n, line[k_end + 12:end])
        self.n += len(lines)

    def _fed(self, line: bytes, n: int, h: int, kind: bytes, raw: bytes) -> None:
        """One entry of a kind the projection reads: its payload decoded, its fields as text."""
        text = raw.decode("utf-8", "surrogatepass")   # as json.loads decodes bytes
        try:
            payload, end = self.scan(text, 0)
        except StopIteration:
            raise Failed(f"log.jsonl line {n}: the payload is not valid JSON") from None
        if end != len(text):
            raise Failed(f"log.jsonl line {n}: the payload is not valid JSON (extra data at {end})")
        actor = self._text(line[9:h])
        self._hand(n, line[-TS_TAIL:-3].decode(), self._text(kind, quoted=False), actor, payload, raw)

    def _text(self, raw: bytes, quoted: bool = True) -> str:
        """A kind (unquoted) or a JSON string (quoted) as text, remembered while there are few."""
        text = self.texts.get(raw)
        if text is None:
            text = raw.decode() if not quoted else (raw[1:-1].decode() if b"\\" not in raw else json.loads(raw))
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

