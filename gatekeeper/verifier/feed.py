"""The projection's side of a pass over ``log.jsonl``: each entry of the kinds it reads, parsed and handed
on (SPEC §12). Standard library only.

The chain check (``chain.Chain``) is what reads the lines: a line it accepted on its bytes is the
writer's canonical line, so its fields are where the layout puts them, and it hands the entries of
the projection's kinds on as ``Fed`` tuples, their fields still the line's bytes (a line it checked
field by field gives its fields canonically encoded: the same bytes), the payload and ts as text. Here
they are decoded: the payload with ``json``'s C scanner (without ``json.loads``' wrapper: the same
result), the actor as a JSON string. Whether the chain ran in this process or in a worker
(``parallel``, which sends the tuples over a pipe), the projection reads every entry as the chain
read it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Protocol

from gatekeeper.verifier.logread import Failed

# (seq, ts, kind, actor, payload, its canonical bytes or None: the pass gives the changes entries name apart)
Feed = Callable[[int, str, str, str, Any, bytes | None], None]
# (seq, kind, actor as a JSON string with its quotes, ts, canonical payload as text): an entry as its line
# holds it (the payload decoded as json.loads decodes bytes: in a worker, when there is one)
Fed = tuple[int, bytes, bytes, str, str]
SMALL_CACHE = 4096        # distinct actors remembered as text (a hostile log may have a million)


class Projected(Protocol):
    """What a pass feeds (``projection.Projection``): the parsed entries of ``kinds`` to ``add``, in seq
    order, and the changes every entry names to ``named_pairs`` (change, seq, change, seq …)."""

    @property
    def kinds(self) -> Collection[str]: ...

    def add(self, seq: int, ts: str, kind: str, actor: str, payload: Any, raw: bytes | None = None) -> None: ...

    def named_pairs(self, pairs: Sequence[int]) -> None: ...


class Feeder:
    """Hands ``Fed`` entries (of ``kinds``) to ``feed``, parsed."""

    def __init__(self, feed: Feed, kinds: Collection[str]) -> None:
        self.on_feed = feed
        self.kinds = {k.encode(): k for k in kinds}         # as bytes -> as text
        self.texts: dict[bytes, str] = {}                  # actor bytes -> text
        self.scan: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]   # its C scanner

    def apply(self, entries: Iterable[Fed]) -> None:
        """The entries, in seq order."""
        scan, kinds, text, feed = self.scan, self.kinds, self._text, self.on_feed
        for seq, kind, actor, ts, data in entries:
            try:
                payload, end = scan(data, 0)
            except StopIteration:
                raise Failed(f"log.jsonl line {seq}: the payload is not valid JSON") from None
            if end != len(data):
                raise Failed(f"log.jsonl line {seq}: the payload is not valid JSON (extra data at {end})")
            name = kinds[kind]
            try:
                feed(seq, ts, name, text(actor), payload, None)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                raise Failed(f"log.jsonl seq {seq} ({name}): a payload the tables cannot be made of "
                             f"({type(exc).__name__}: {exc})") from None

    def _text(self, raw: bytes) -> str:
        """A JSON string (an actor) as text, remembered while there are few."""
        text = self.texts.get(raw)
        if text is None:
            text = raw[1:-1].decode() if b"\\" not in raw else json.loads(raw)
            if len(self.texts) < SMALL_CACHE:
                self.texts[raw] = text
        return text
