"""``/api/v1/openapi.json``: the OpenAPI 3 description of the API (SPEC §6); no login."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from gatekeeper import __version__

bp = Blueprint("api_openapi", __name__)

_ERR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_JSON = {"application/json": {"schema": {"type": "object"}}}


def _op(summary: str, ok: str = "200", security: str | None = "basic", params: list[Any] | None = None,
        body: str | None = None, errors: tuple[str, ...] = ("400", "401", "403", "404")) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok: {"description": "ok", "content": _JSON}}}
    for code in errors:
        op["responses"][code] = _ERR
    if security:
        op["security"] = [{security: []}]
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    return op


def _q(name: str, kind: str = "string", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": {"type": kind}}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Gatekeeper", "version": __version__,
             "description": "Change-management controls for OT configuration in Git."},
    "paths": {
        "/healthz": {"get": _op("service health", security=None, errors=("503",))},
        "/api/v1/hooks/pre-receive": {"post": _op("decide a push (git pre-receive hook)", security="hook",
                                                  body="HookRequest", errors=("400", "401"))},
        "/api/v1/hooks/post-receive": {"post": _op("record a push (git post-receive hook)", security="hook",
                                                   body="HookRequest", errors=("400", "401"))},
        "/api/v1/changes": {"get": _op("list change requests", params=[
            _q("state"), _q("repo"), _q("category"), _q("limit", "integer"), _q("offset", "integer")])},
        "/api/v1/changes/{id}": {"get": _op("one change request", params=[_ID])},
        "/api/v1/changes/{id}/approvals": {"post": _op("sign: approve or reject (electronic signature)", ok="201",
                                                       params=[_ID], body="SignRequest",
                                                       errors=("400", "401", "403", "404", "409"))},
        "/api/v1/changes/{id}/withdraw": {"post": _op("withdraw (author or admin)", params=[_ID],
                                                      errors=("401", "403", "404", "409"))},
        "/api/v1/log": {"get": _op("log entries with hashes", params=[_q("after", "integer"),
                                                                      _q("limit", "integer")])},
        "/api/v1/log/checkpoint": {"get": _op("latest signed checkpoint")},
        "/api/v1/audit/register": {"get": _op("change register (auditors, admins)", params=[
            _q("from", required=True), _q("to", required=True), _q("format")])},
        "/api/v1/audit/evidence": {"get": _op("evidence pack zip (auditors, admins)", params=[
            _q("from", required=True), _q("to", required=True)])},
        "/api/v1/audit/metrics": {"get": _op("control metrics as JSON (auditors, admins)", params=[
            _q("from", required=True), _q("to", required=True), _q("repo"), _q("category")])},
    },
    "components": {
        "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                            "hook": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "SignRequest": {"type": "object", "required": ["decision"], "properties": {
                "decision": {"type": "string", "enum": ["approve", "reject"]},
                "meaning": {"type": "string"}, "comment": {"type": "string"}, "group": {"type": "string"}}},
            "HookRequest": {"type": "object", "required": ["repo", "updates"], "properties": {
                "repo": {"type": "string"}, "pusher": {"type": "string", "nullable": True},
                "push_options": {"type": "array", "items": {"type": "string"}},
                "intents": {"type": "array", "items": {"type": "integer"},
                            "description": "post-receive: the deploy intent ids pre-receive answered"},
                "settle": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "integer"}, "actual": {"type": "string", "nullable": True},
                    "reached": {"type": "boolean"}, "commits": {"type": "array", "items": {"type": "string"}}}},
                    "description": "open intents of earlier pushes, with the ref's real value"},
                "spooled": {"type": "array", "items": {"type": "object"},
                            "description": "refusals the hook made while the service was unreachable"},
                "updates": {"type": "array", "items": {"type": "object", "required": ["ref", "old", "new"],
                                                       "properties": {
                    "ref": {"type": "string"}, "old": {"type": "string"}, "new": {"type": "string"},
                    "changes": {"type": "array", "items": {"type": "object"}},
                    "commits": {"type": "array", "items": {"type": "object"}}}}}}},
        },
    },
}


def _notify_part() -> None:
    """The outgoing notification webhooks (issue 14): OpenAPI 3.1 ``webhooks`` plus their body schema."""
    from gatekeeper.notify import openapi as notify_doc

    SPEC["webhooks"] = notify_doc.webhooks()
    SPEC["components"]["schemas"].update(notify_doc.SCHEMAS)


_notify_part()


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(SPEC)
