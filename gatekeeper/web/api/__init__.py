"""JSON API under /api/v1 (SPEC §6), one blueprint per area."""

from __future__ import annotations

from flask import Flask, request

from gatekeeper.errors import InputError


def json_body() -> object:
    """The parsed JSON body; garbage or a wrong content type is one clear 400."""
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise InputError("request body must be valid JSON")
    return data


def register(app: Flask) -> None:
    from gatekeeper.web.api import audit, changes, hooks, ledger, openapi, sessions

    for bp in (hooks.bp, changes.bp, ledger.bp, audit.bp, openapi.bp, sessions.bp):
        app.register_blueprint(bp, url_prefix="/api/v1")

    @app.before_request
    def _rate_limit() -> None:
        """People's API calls count against ``service.rate_limit_api`` per client address; the hooks
        (the git server, bearer token) and the document are exempt."""
        from gatekeeper.web.auth import rate_limit
        from gatekeeper.web.context import services

        bp = request.blueprint or ""
        if bp.startswith("api_") and bp not in ("api_hooks", "api_openapi"):
            rate_limit("api", services().config.service.rate_limit_api)
