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
    from gatekeeper.web.api import audit, changes, hooks, ledger, openapi

    for bp in (hooks.bp, changes.bp, ledger.bp, audit.bp, openapi.bp):
        app.register_blueprint(bp, url_prefix="/api/v1")
