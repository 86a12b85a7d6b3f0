"""The changes a log entry names (SPEC §12): a register row's ``log_seqs``. Pure, standard library only.

Any entry whose payload names a change is in that change's ``log_seqs``: by a key containing
``change_id`` (``change_id``, ``change_ids``, ``matches_change_id`` …), a ref's ``deploys`` or a drift's
``matches_change``, a number or a list of numbers, at any depth. Read from the payload's canonical JSON
bytes (the log's own), without parsing it: in canonical JSON a key is always preceded by an unescaped
quote and followed by ``":``, which cannot occur inside a string (its quotes are escaped), so a match
is a real key.
"""

from __future__ import annotations

import re
from array import array

_NAMED = re.compile(rb'"([A-Za-z0-9_]*change_id[A-Za-z0-9_]*|deploys|matches_change)":(-?[0-9]+|\[[^\]]*\])')
_ONE = re.compile(rb'"change_id":(-?[0-9]+)[,}]')


def changes_named(raw: bytes) -> set[int]:
    """Every change id an entry's canonical payload ``raw`` names (see the module's doc)."""
    if raw.count(b"change_id") == 1 and b'"deploys"' not in raw and b"matches_change" not in raw:
        one = _ONE.search(raw)  # the usual payload: one plain change_id (fast path, same answer)
        if one is not None:
            return {int(one.group(1))}
    found: set[int] = set()
    for m in _NAMED.finditer(raw):
        value = m.group(2)
        if value[:1] != b"[":
            found.add(int(value))
        else:
            found.update(int(v) for v in value[1:-1].split(b",") if v.lstrip(b"-").isdigit())
    return found


def names_at(line: bytes, start: int, end: int, seq: int, pairs: array[int]) -> None:
    """``changes_named`` of the payload ``line[start:end]`` (the entry of ``seq``), appended to ``pairs`` as
    change, seq, change, seq …; the usual payload (one plain change_id, nothing else that names a change)
    read in place, without a copy: a million entries pass here."""
    at = line.find(b"change_id", start, end)
    if at < 0:
        if line.find(b'"deploys"', start, end) < 0 and line.find(b"matches_change", start, end) < 0:
            return
    elif (line.find(b"change_id", at + 9, end) < 0 and line.find(b'"deploys"', start, end) < 0
          and line.find(b"matches_change", start, end) < 0):
        m = _ONE.match(line, at - 1, end)   # the one occurrence: where changes_named's _ONE.search finds it
        if m is not None:
            pairs.append(int(m.group(1)))
            pairs.append(seq)
            return
    for cid in changes_named(line[start:end]):
        pairs.append(cid)
        pairs.append(seq)
