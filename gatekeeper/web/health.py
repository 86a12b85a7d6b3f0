"""``/healthz`` (SPEC §10): 200 when ok, 503 with the same body when degraded; no login."""

from __future__ import annotations

from flask import Blueprint

from gatekeeper.web.api.schemas import Health, respond
from gatekeeper.web.context import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    svc = services()
    database = svc.store.health()
    try:
        directory = svc.directory.health()
    except Exception as exc:  # a broken directory must still give a health answer
        directory = f"unreachable: {exc}"
    ok = database == "ok" and directory == "ok"
    body = {"status": "ok" if ok else "degraded", "database": database, "directory": directory}
    return respond(Health, body, 200 if ok else 503)
