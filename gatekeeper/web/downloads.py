"""Register and evidence-pack downloads, shared by ``/api/v1/audit/*`` and the ``/audit`` pages.

Exports are written to a spooled temporary file (memory up to 8 MiB, then disk) and streamed from
it, so a period of 100,000 changes keeps the service's memory flat (issue 8).
"""

from __future__ import annotations

import io
import tempfile

from flask import Response, send_file

from gatekeeper.actions.context import Services
from gatekeeper.errors import InputError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIMETYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "xlsx": XLSX, "zip": "application/zip"}
SPOOL_BYTES = 8 * 1024 * 1024


def _spool() -> tempfile.SpooledTemporaryFile[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)


def _send(spool: tempfile.SpooledTemporaryFile[bytes], fmt: str, filename: str) -> Response:
    spool.seek(0)
    return send_file(spool, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=filename,  # type: ignore[arg-type]
                     max_age=0)


def register_download(svc: Services, start: str, end: str, fmt: str, stem: str) -> Response:
    """The change register for ``[start, end)`` as csv, json or xlsx."""
    from gatekeeper.audit import register, writers

    if fmt not in ("csv", "json", "xlsx"):
        raise InputError("format must be csv, xlsx or json")
    spool = _spool()
    rows = register.rows(svc, start, end)
    if fmt == "xlsx":
        from gatekeeper.audit.xlsx import write_xlsx

        write_xlsx(spool, register.COLUMNS, rows)
    else:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")  # type: ignore[arg-type]
        (writers.write_csv if fmt == "csv" else writers.write_json)(text, register.COLUMNS, rows)
        text.flush()
        text.detach()
    return _send(spool, fmt, f"change-register_{stem}.{fmt}")


def evidence_download(svc: Services, start: str, end: str, stem: str) -> Response:
    """The evidence pack zip for ``[start, end)`` (SPEC §9, §10)."""
    from gatekeeper.audit.evidence import build_pack

    spool = _spool()
    build_pack(svc, start, end, spool)
    return _send(spool, "zip", f"evidence-pack_{stem}.zip")
