"""Canonical JSON and entry hashes (SPEC §10): one encoding, so a hash is the same everywhere."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.entry import GENESIS_HASH, Entry, entry_hash
from gatekeeper.ledger.jsonl import entry_line, row_line
from gatekeeper.ledger.verify import verify_lines

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
payloads = st.dictionaries(st.text(), st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20), max_size=6)
hexes = st.text("0123456789abcdef", min_size=64, max_size=64)
entries = st.fixed_dictionaries({
    "seq": st.integers(1, 2**40), "ts": st.text(max_size=40), "kind": st.text(max_size=30),
    "actor": st.text(max_size=30), "payload": payloads, "prev_hash": hexes,
})


@given(payloads)
def test_canon_is_compact_sorted_utf8_and_round_trips(payload: dict[str, Any]) -> None:
    text = canon(payload)
    assert canon(json.loads(text)) == text
    assert text == json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@given(entries)
def test_same_fields_same_hash_whatever_the_key_order(fields: dict[str, Any]) -> None:
    reordered = json.loads(json.dumps(dict(reversed(list(fields["payload"].items())))))
    assert entry_hash(**fields) == entry_hash(**{**fields, "payload": reordered})
    assert entry_hash(**fields) == entry_hash(**json.loads(json.dumps(fields)))


@given(entries, st.data())
def test_any_change_of_any_field_changes_the_hash(fields: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(fields)))
    strategy = {"seq": st.integers(1, 2**40), "payload": payloads, "prev_hash": hexes}.get(name, st.text(max_size=40))
    changed = data.draw(strategy.filter(lambda v: canon(v) != canon(fields[name])))
    assert entry_hash(**fields) != entry_hash(**{**fields, name: changed})


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20), payloads), min_size=1, max_size=5))
def test_fast_and_field_by_field_verification_agree(items: list[tuple[str, str, dict[str, Any]]]) -> None:
    """The writer's bytes (row_line of stored text, entry_line of values) verify by the fast path."""
    prev, lines = GENESIS_HASH, []
    for seq, (kind, actor, payload) in enumerate(items, 1):
        ts = f"2024-05-01T00:00:{seq:02d}.000000Z"
        e = Entry(seq, ts, kind, actor, payload, prev, entry_hash(seq, ts, kind, actor, payload, prev))
        assert row_line(seq, ts, kind, actor, canon(payload).decode(), prev, e.hash) == entry_line(e)
        lines.append(entry_line(e))
        prev = e.hash
    assert verify_lines(lines).head_hash == prev


@given(st.integers(0, 2**62), st.text(), st.text(), st.text(), payloads, st.text(), st.text())
def test_row_line_is_canon_of_the_row(seq: int, ts: str, kind: str, actor: str, payload: dict[str, Any],
                                      prev_hash: str, hash_: str) -> None:
    """ledger.jsonl.row_line spells canon's output out for speed: it must stay byte-identical."""
    expected = canon({"seq": seq, "ts": ts, "kind": kind, "actor": actor, "payload": payload,
                      "prev_hash": prev_hash, "hash": hash_}) + b"\n"
    assert row_line(seq, ts, kind, actor, canon(payload).decode(), prev_hash, hash_) == expected
