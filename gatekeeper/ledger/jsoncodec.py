"""Canonical JSON and strict JSON reading (SPEC §10). Pure, standard library only (bundled into verify.py).

``canon``: sorted keys, separators ``,`` and ``:``, no ASCII escaping, UTF-8: what every hash and
signature covers. ``loads_strict``: JSON with duplicate keys and NaN/Infinity refused, since bytes
that hash one way must not read another way.
"""

from __future__ import annotations

import json
from typing import Any


def canon(value: Any) -> bytes:
    """Encode ``value`` canonically; floats that are not finite are refused (JSON has none)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse duplicate keys: the hashed bytes would say one thing and a JSON reader another."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"duplicate key {dup!r}")
    return data


def no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(text: bytes | str) -> Any:
    """``json.loads`` refusing duplicate keys and NaN/Infinity (``ValueError``)."""
    return json.loads(text, object_pairs_hook=unique_keys, parse_constant=no_constant)
