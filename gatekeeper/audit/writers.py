"""Register writers: CSV (safe against spreadsheet formula injection) and JSON, streaming."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

from gatekeeper.verifier.tables import FORMULA_START as _FORMULA_START
from gatekeeper.verifier.tables import cell, flat, safe_cell  # noqa: F401  (re-exported)


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """RFC 4180 CSV (CRLF line ends, UTF-8), header first, one row per item, written as it comes."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    write, formula = writer.writerow, _FORMULA_START
    n = 0
    for r in rows:
        cells = []
        for c in columns:  # ``cell()`` inlined: this loop runs for every cell of 100,000-row exports
            v = r.get(c)
            if type(v) is not str:
                v = flat(v)
            cells.append("'" + v if v[:1] in formula else v)
        write(cells)
        n += 1
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
