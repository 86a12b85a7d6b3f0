"""Errors rendered once: JSON under /api/ (SPEC §6 shape), pages elsewhere; tracebacks only in the log."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from gatekeeper.errors import GatekeeperError

log = logging.getLogger("gatekeeper.web")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _challenge() -> str:
    """The scheme the endpoint takes (RFC 9110 §11.6.1): hooks send a Bearer token, people Basic credentials."""
    if request.blueprint == "api_hooks":
        return 'Bearer realm="gatekeeper-hooks"'
    return 'Basic realm="gatekeeper", charset="UTF-8"'


def _json(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def init_app(app: Flask) -> None:
    @app.errorhandler(GatekeeperError)
    def _gatekeeper(exc: GatekeeperError):  # type: ignore[no-untyped-def]
        if exc.http_status >= 500:
            log.warning("%s: %s", type(exc).__name__, exc.message)
        resp = _json(exc.code, exc.message, exc.http_status) if _wants_json() else _page(exc.http_status, exc.message)
        if exc.http_status == 401 and _wants_json():
            resp[0].headers["WWW-Authenticate"] = _challenge()
        return resp

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 413:
            message = "request body too large"
        elif exc.code == 404 and _wants_json() and request.url_rule is None:
            message = (f"no such endpoint: {request.method} {request.path} "
                       "(the API is described at /api/v1/openapi.json)")
        elif isinstance(exc, MethodNotAllowed):
            allowed = ", ".join(m for m in exc.valid_methods or () if m not in ("HEAD", "OPTIONS"))
            message = f"{request.method} is not allowed on {request.path}"
            message += f" (allowed: {allowed})" if allowed else ""
        if _wants_json():
            return _json(code, message, exc.code or 500)
        return _page(exc.code or 500, message)

    @app.errorhandler(Exception)
    def _other(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unexpected error on %s %s", request.method, request.path)
        if _wants_json():
            return _json("internal", "internal error; see the service log", 500)
        return _page(500, "internal error; see the service log")


def _page(status: int, message: str) -> tuple[Response, int]:
    from flask import render_template
    from jinja2 import TemplateNotFound

    try:
        return Response(render_template("error.html", status=status, message=message)), status
    except TemplateNotFound:
        return Response(f"{status}: {message}\n", mimetype="text/plain"), status
