"""The changes a log entry names (SPEC §12): a register row's ``log_seqs``. Pure, standard library only.

Any entry whose payload names a change is in that change's ``log_seqs``: by a key containing
``change_id`` (``change_id``, ``change_ids``, ``matches_change_id`` …), a ref's ``deploys`` or a drift's
``matches_change``, an integer or a list of integers (anything else in a list is not a change), at any
depth. Read from the payload's canonical JSON
bytes (the log's own), without parsing it: in canonical JSON a key is always preceded by an unescaped
quote and followed by ``":``, which cannot occur inside a string (its quotes are escaped), so a match
is a real key.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

# a name's value: an integer (not the start of 1.5 or 1e3: no change has such an id), or a list
_NAMED = re.compile(rb'"([A-Za-z0-9_]*change_id[A-Za-z0-9_]*|deploys|matches_change)":'
                    rb'(-?[0-9]+(?![0-9.eE])|\[[^\]]*\])')
_ONE = re.compile(rb'"change_id":(-?[0-9]+)[,}]')


def changes_named(raw: bytes) -> set[int]:
    """Every change id an entry's canonical payload ``raw`` names (see the module's doc)."""
    if raw.count(b"change_id") == 1 and b'"deploys"' not in raw and b"matches_change" not in raw:
        one = _ONE.search(raw)  # the usual payload: one plain change_id (fast path, same answer)
        if one is not None:
            return {int(one.group(1))}
    found: set[int] = set()
    for m in _NAMED.finditer(raw):
        found.update(_ids(m.group(2)))
    return found


def _ids(value: bytes) -> list[int]:
    """The change ids of a name's value: a number, or the numbers of a list (anything else in it ignored)."""
    if value[:1] != b"[":
        return [int(value)]
    return [int(v) for v in value[1:-1].split(b",") if v.lstrip(b"-").isdigit()]


# where a name's match begins, from where its needle was found: the quote before change_id and
# matches_change, the quote "deploys" starts with
_NEEDLES = ((b"change_id", 9, -1), (b'"deploys"', 1, 0), (b"matches_change", 1, -1))


def names_of(lines: Sequence[bytes], first: int, pairs: array[int]) -> None:
    """``changes_named`` of each entry of ``lines`` (the log's lines of seqs ``first``, ``first`` + 1 …, each
    as the writer wrote it), appended to ``pairs`` as change, seq, change, seq … in seq order.

    Read from the lines whole, a batch at once, with no call per line for the usual entry: the three
    names are looked for in the batch's bytes and each occurrence put on its line; a line with one
    occurrence is read at that place (where ``changes_named`` finds its only possible name), any
    other line that has one by ``changes_named``. A line's names are its payload's: in a line as the
    writer wrote it nothing outside the payload is a key but actor, hash, kind, payload, prev_hash,
    seq and ts, and no JSON string holds ``":`` after a quote that is not escaped."""
    blob = b"".join(lines)
    ends = list(accumulate(map(len, lines)))
    hits: dict[int, int] = {}        # line index -> where its one name's match must begin, or -1: read it whole
    for needle, step, back in _NEEDLES:
        at = blob.find(needle)
        while at >= 0:
            j = bisect_right(ends, at)
            hits[j] = -1 if j in hits else at + back
            at = blob.find(needle, at + step)
    match, add = _NAMED.match, pairs.append
    for j in sorted(hits):
        at, seq = hits[j], first + j
        m = match(blob, at) if at >= 0 else None
        for cid in _ids(m.group(2)) if m is not None else changes_named(lines[j]):
            add(cid)
            add(seq)
