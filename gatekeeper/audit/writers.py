"""Register writers: CSV (safe against spreadsheet formula injection) and JSON, streaming."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

from gatekeeper.verifier.tables import cell, csv_pieces, flat, safe_cell  # noqa: F401  (re-exported)


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """RFC 4180 CSV (CRLF line ends, UTF-8), header first, one row per item, written as it comes: the
    verifier's own rendering (``verifier.tables.csv_pieces``), so a pack's tables are the bytes it expects."""
    n = 0
    for text, rows_in in csv_pieces(columns, rows):
        out.write(text)
        n += rows_in
    return n


def write_json(out: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """A JSON array written row by row, keys in the register's column order."""
    out.write("[")
    n = 0
    for r in rows:
        out.write(("," if n else "") + "\n" + json.dumps({c: r.get(c) for c in columns}, ensure_ascii=False))
        n += 1
    out.write("\n]\n")
    return n
