"""Register and evidence-pack downloads, shared by ``/api/v1/audit/*`` and the ``/audit`` pages.

Exports are written to a spooled temporary file (memory up to 8 MiB, then disk) and streamed from
it, so a period of 100,000 changes keeps the service's memory flat (issue 8).
"""

from __future__ import annotations

import tempfile

from flask import Response, send_file

from gatekeeper.actions.context import Services
from gatekeeper.errors import InputError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# text/csv: send_file adds "; charset=utf-8" itself (naming it here too sent the charset twice).
MIMETYPES = {"csv": "text/csv", "json": "application/json", "xlsx": XLSX, "zip": "application/zip"}
SPOOL_BYTES = 8 * 1024 * 1024


def register_download(svc: Services, start: str, end: str, fmt: str, stem: str) -> Response:
    """The change register for ``[start, end)`` as csv, json or xlsx."""
    if fmt not in ("csv", "json", "xlsx"):
        raise InputError("format must be csv, xlsx or json")
    return _export(svc, start, end, fmt, f"change-register_{stem}.{fmt}")


def evidence_download(svc: Services, start: str, end: str, stem: str) -> Response:
    """The evidence pack zip for ``[start, end)`` (SPEC §9, §10); ``audit.exported`` names the signed-in user."""
    from flask import g

    user = getattr(g, "user", None)
    return _export(svc, start, end, "zip", f"evidence-pack_{stem}.zip", getattr(user, "username", None))


def _export(svc: Services, start: str, end: str, fmt: str, filename: str, actor: str | None = None) -> Response:
    from gatekeeper.audit.export import write_export

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by send_file
    write_export(svc, start, end, fmt, spool, actor=actor)  # type: ignore[arg-type]
    spool.seek(0)
    return send_file(spool, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=filename,  # type: ignore[arg-type]
                     max_age=0)
