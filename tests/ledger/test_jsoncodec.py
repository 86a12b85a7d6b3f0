"""Strict JSON reading (``ledger.jsoncodec``): bytes that hash one way must not read another way."""

from __future__ import annotations

import pytest

from gatekeeper.ledger.jsoncodec import canon, loads_strict


def test_canon_is_sorted_compact_utf8() -> None:
    assert canon({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'.encode()
    with pytest.raises(ValueError):
        canon({"x": float("inf")})


@pytest.mark.parametrize(("text", "says"), [
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"x": {"k": 1, "k": 1}}', "duplicate key 'k'"),
    ('{"x": NaN}', "NaN is not JSON"),
    ('[Infinity]', "Infinity is not JSON"),
])
def test_duplicate_keys_and_non_finite_numbers_are_refused(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        loads_strict(text)


def test_ordinary_json_reads_as_json() -> None:
    assert loads_strict(b'{"a": [1, 2.5, "x"], "b": {"c": null}}') == {"a": [1, 2.5, "x"], "b": {"c": None}}
