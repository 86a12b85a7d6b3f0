"""Canonical JSON (SPEC §10): sorted keys, separators ``,`` and ``:``, no ASCII escaping, UTF-8.

Writer, verifier and fingerprint share this one function so that a hash computed anywhere is the
hash computed everywhere.
"""

from __future__ import annotations

import json
from typing import Any


def canon(value: Any) -> bytes:
    """Encode ``value`` canonically; floats that are not finite are refused (JSON has none)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
