"""Auditors' downloads: the change register and the evidence pack (SPEC §6, §9)."""

from __future__ import annotations

import io

from flask import Blueprint, Response, request

from gatekeeper.audit import register, writers
from gatekeeper.errors import InputError
from gatekeeper.web import services
from gatekeeper.web.auth import basic_auth, role_required

bp = Blueprint("api_audit", __name__)


def period_args() -> tuple[str, str]:
    from gatekeeper.period import parse_period

    start, end = request.args.get("from"), request.args.get("to")
    if not start or not end:
        raise InputError("from and to are required (YYYY-MM-DD or RFC 3339)")
    return parse_period(start, end)


@bp.get("/audit/register")
@basic_auth
@role_required("auditors", "admins")
def register_export():  # type: ignore[no-untyped-def]
    start, end = period_args()
    fmt = request.args.get("format", "csv")
    svc = services()
    rows = register.rows(svc, start, end)
    name = f"change-register_{request.args['from']}_{request.args['to']}"
    if fmt == "csv":
        buf = io.StringIO()
        writers.write_csv(buf, register.COLUMNS, rows)
        return _download(buf.getvalue().encode("utf-8"), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "json":
        buf = io.StringIO()
        writers.write_json(buf, register.COLUMNS, rows)
        return _download(buf.getvalue().encode("utf-8"), "application/json", f"{name}.json")
    if fmt == "xlsx":
        from gatekeeper.audit.xlsx import write_xlsx

        data = io.BytesIO()
        write_xlsx(data, register.COLUMNS, rows)
        return _download(data.getvalue(),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{name}.xlsx")
    raise InputError("format must be csv, xlsx or json")


@bp.get("/audit/evidence")
@basic_auth
@role_required("auditors", "admins")
def evidence():  # type: ignore[no-untyped-def]
    from gatekeeper.audit.evidence import build_pack

    start, end = period_args()
    data = io.BytesIO()
    build_pack(services(), start, end, data)
    return _download(data.getvalue(), "application/zip",
                     f"evidence-pack_{request.args['from']}_{request.args['to']}.zip")


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
