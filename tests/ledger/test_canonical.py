"""Canonical JSON (SPEC §10): one encoding, so a hash is the same everywhere."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.ledger.canonical import canon

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
