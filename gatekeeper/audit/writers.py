"""Register writers: CSV (safe against spreadsheet formula injection) and JSON, streaming."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

from gatekeeper.audit.register import flat

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Prefix a quote to cells a spreadsheet would run as a formula (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    n = 0
    for r in rows:
        writer.writerow([safe_cell(flat(r.get(c))) for c in columns])
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
