"""One entry point for every export format, shared by the CLI, the API, the pages and the benchmark."""

from __future__ import annotations

import io
from typing import IO

from gatekeeper.actions.context import Services
from gatekeeper.errors import InputError

FORMATS = ("csv", "xlsx", "json", "zip")


def write_export(services: Services, start: str, end: str, fmt: str, out: IO[bytes], *,
                 actor: str | None = None) -> int:
    """Write the register (csv, xlsx, json) or the evidence pack (zip) for ``[start, end)`` to ``out``;
    returns the number of change requests. Everything streams: memory stays flat as the period grows."""
    from gatekeeper.audit import register, writers

    if fmt == "zip":
        from gatekeeper.audit.evidence import build_pack

        return build_pack(services, start, end, out, actor=actor)
    rows = register.rows(services, start, end)
    if fmt == "xlsx":
        from gatekeeper.audit.xlsx import write_xlsx

        return write_xlsx(out, register.COLUMNS, rows)
    if fmt not in ("csv", "json"):
        raise InputError(f"format must be one of {', '.join(FORMATS)}")
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")  # type: ignore[arg-type]
    try:
        n = (writers.write_csv if fmt == "csv" else writers.write_json)(text, register.COLUMNS, rows)
        text.flush()
    finally:
        text.detach()
    return n
