"""The export line (``ledger.jsonl``): the fast frame equals canon's bytes; reading a line is strict."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.errors import InputError
from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.entry import GENESIS_HASH, Entry, entry_hash
from gatekeeper.ledger.jsonl import entry_line, parse_line, row_line
from gatekeeper.ledger.verify import verify_lines
from tests.ledger.test_canonical import payloads


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


def test_a_line_parses_back_to_its_entry() -> None:
    e = Entry(3, "2026-01-01T00:00:00.000000Z", "change.opened", "alice", {"title": "Raise TT-101 °C"},
              GENESIS_HASH, "f" * 64)
    assert parse_line(entry_line(e), 3) == e
    assert "°C" in entry_line(e).decode()  # UTF-8, not escaped


@pytest.mark.parametrize(("line", "says"), [
    (b"", "line 7: empty line"),
    (b"{not json", "line 7: not JSON"),
    (b"[1]", "line 7: not a JSON object"),
    (b'{"seq":1}', "line 7"),
    (b'{"actor":"a","hash":"h","kind":"k","payload":{},"prev_hash":"p","seq":true,"ts":"t"}', "'seq' must be"),
    (b'{"actor":1,"hash":"h","kind":"k","payload":{},"prev_hash":"p","seq":1,"ts":"t"}', "'actor' must be"),
    (b'{"actor":"a","hash":"h","kind":"k","payload":[],"prev_hash":"p","seq":1,"ts":"t"}', "'payload' must be"),
    (b'{"actor":"a","actor":"b","hash":"h","kind":"k","payload":{},"prev_hash":"p","seq":1,"ts":"t"}',
     "duplicate key"),
])
def test_anything_but_the_seven_typed_fields_is_one_clear_error(line: bytes, says: str) -> None:
    with pytest.raises(InputError, match=says):
        parse_line(line, 7)


def test_a_payload_that_is_not_json_is_an_input_error() -> None:
    with pytest.raises(InputError, match="seq 2: payload is not JSON"):
        entry_line(Entry(2, "t", "k", "a", {"x": float("nan")}, GENESIS_HASH, "h"))
