"""``/api/v1/openapi.json``: the OpenAPI 3.1 description of the API (SPEC §6); no login.

Generated from ``OPERATIONS`` and the pydantic models the handlers use (``schemas``, and the request
models in ``actions.payloads``): adding an endpoint means appending one ``Operation`` naming its
models, parameters and statuses. ``tests/e2e/test_api_contract.py`` runs schemathesis against the
live document, so a status, field or content type the code gives but the document lacks fails the build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gatekeeper import __version__
from gatekeeper.actions.payloads import HookRequest, SignRequest
from gatekeeper.web.api import schemas as m
from gatekeeper.web.downloads import MIMETYPES

bp = Blueprint("api_openapi", __name__)

REF = "#/components/schemas/{model}"
DATE = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "description": "YYYY-MM-DD (a whole UTC day) or an RFC 3339 instant"}
ERRORS = {
    400: "bad input (the message says which)", 401: "credentials missing or wrong (Basic: directory; hooks: Bearer)",
    403: "not allowed (the SoD reason or the role needed)", 404: "no such resource", 405: "method not allowed",
    409: "does not fit the current state", 413: "request body too large", 415: "not JSON",
    429: "rate limited (Retry-After)", 503: "the database or the directory is unavailable",
}
COMMON_ERRORS = (405, 429, 503)


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    where: str = "query"
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    ok: type[BaseModel] | dict[str, dict[str, Any]] | None  # a model (JSON) or {content type: schema}
    status: int = 200
    security: str | None = "basic"
    params: tuple[Param, ...] = ()
    body: type[BaseModel] | None = None
    body_required: bool = True
    errors: tuple[int, ...] = (400, 401, 404)
    extra: dict[int, tuple[str, type[BaseModel]]] = field(default_factory=dict)  # other statuses with a body
    links: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)  # response headers of the ok answer


def _id(description: str = "change request id") -> Param:
    return Param("id", {"type": "integer", "minimum": 1, "maximum": m.MAX_ID}, "path", True, description)


def _int(name: str, lo: int, hi: int, default: int, description: str) -> Param:
    return Param(name, {"type": "integer", "minimum": lo, "maximum": hi, "default": default}, description=description)


def _text(name: str, description: str) -> Param:
    return Param(name, {"type": "string"}, description=description)


def _download(kind: str) -> dict[str, Any]:
    return {"schema": {"type": "string", "format": "binary"}} if kind != "json" else {
        "schema": {"type": "array", "items": {"type": "object"}}}


_CHANGE_LINKS = {
    "GetChange": {"operationId": "getChange", "parameters": {"id": "$response.body#/id"}},
    "SignChange": {"operationId": "signChange", "parameters": {"id": "$response.body#/id"}},
    "WithdrawChange": {"operationId": "withdrawChange", "parameters": {"id": "$response.body#/id"}},
}
_LIST_LINKS = {name: {**link, "parameters": {"id": "$response.body#/changes/0/id"}}
               for name, link in _CHANGE_LINKS.items()}
_PERIOD = (Param("from", DATE, required=True), Param("to", DATE, required=True))
_ATTACHMENT = {"Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; filename=..."}}

OPERATIONS: list[Operation] = [
    Operation("get", "/healthz", "service health: 200 when ok, 503 with the same body when degraded", m.Health,
              security=None, errors=(), extra={503: ("degraded: the same body, status degraded", m.Health)}),
    Operation("post", "/api/v1/hooks/pre-receive", "decide a push (git pre-receive hook)", m.HookDecision,
              security="hook", body=HookRequest, errors=(400, 401, 413)),
    Operation("post", "/api/v1/hooks/post-receive", "record a push (git post-receive hook)", m.HookRecord,
              security="hook", body=HookRequest, errors=(400, 401, 413)),
    Operation("get", "/api/v1/changes", "list change requests", m.ChangeList, params=(
        _text("state", "only CRs in this state"), _text("repo", "only this repository"),
        _text("category", "only CRs touching this category"),
        _int("limit", 1, 1000, 100, "page size"), _int("offset", 0, 10**9, 0, "CRs to skip")), links=_LIST_LINKS),
    Operation("get", "/api/v1/changes/{id}", "one change request", m.Change, params=(_id(),),
              links={k: _CHANGE_LINKS[k] for k in ("SignChange", "WithdrawChange")}),
    Operation("post", "/api/v1/changes/{id}/approvals", "sign: approve or reject (an electronic signature)",
              m.Change, status=201, params=(_id(),), body=SignRequest, errors=(400, 401, 403, 404, 409),
              links={"GetChange": _CHANGE_LINKS["GetChange"]}),
    Operation("post", "/api/v1/changes/{id}/withdraw", "withdraw (its author or an admin)", m.Change,
              params=(_id(),), body=m.WithdrawRequest, body_required=False, errors=(400, 401, 403, 404, 409),
              links={"GetChange": _CHANGE_LINKS["GetChange"]}),
    Operation("get", "/api/v1/log", "log entries with their hashes", m.LogPage, params=(
        _int("after", 0, m.MAX_ID, 0, "entries with seq > after"), _int("limit", 1, 10_000, 100, "at most this many"))),
    Operation("get", "/api/v1/log/checkpoint", "the latest signed checkpoint", m.Checkpoint),
    Operation("get", "/api/v1/audit/register", "the change register (auditors, admins)",
              {MIMETYPES[k]: _download(k) for k in ("csv", "xlsx", "json")}, params=(
                  *_PERIOD, Param("format", {"type": "string", "enum": ["csv", "xlsx", "json"], "default": "csv"})),
              errors=(400, 401, 403), headers=_ATTACHMENT),
    Operation("get", "/api/v1/audit/evidence", "the evidence pack zip (auditors, admins)",
              {MIMETYPES["zip"]: _download("zip")}, params=_PERIOD, errors=(400, 401, 403), headers=_ATTACHMENT),
    Operation("get", "/api/v1/audit/metrics", "the control metrics of a period as JSON (auditors, admins)",
              m.Metrics, params=(*_PERIOD, _text("repo", "only this repository"),
                                 _text("category", "only CRs touching this category")), errors=(400, 401, 403)),
    Operation("post", "/api/v1/sessions/revoke", "sign a user out of every web session (admins)", m.Revoked,
              body=m.RevokeRequest, errors=(400, 401, 403)),
]


def _operation_id(op: Operation) -> str:
    known = {("/api/v1/changes/{id}", "get"): "getChange", ("/api/v1/changes/{id}/approvals", "post"): "signChange",
             ("/api/v1/changes/{id}/withdraw", "post"): "withdrawChange"}
    if (op.path, op.method) in known:
        return known[(op.path, op.method)]
    words = [w for w in op.path.replace("/api/v1/", "/").replace("{id}", "by-id").replace("-", "/").split("/") if w]
    return op.method + "".join(w[:1].upper() + w[1:] for w in words)


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _responses(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if op.ok is None:
        out[str(op.status)] = {"description": "ok"}
    elif isinstance(op.ok, dict):
        out[str(op.status)] = {"description": "ok", "content": op.ok}
    else:
        out[str(op.status)] = {"description": "ok", "content": _json(_ref(op.ok))}
    if op.headers:
        out[str(op.status)]["headers"] = op.headers
    for status, (description, model) in op.extra.items():
        out[str(status)] = {"description": description, "content": _json(_ref(model))}
    codes = sorted({*op.errors, *COMMON_ERRORS, *((401,) if op.security else ())} - set(op.extra))
    for code in codes:
        resp: dict[str, Any] = {"description": ERRORS[code], "content": _json(_ref(m.Error))}
        if code == 405:
            resp["headers"] = {"Allow": {"schema": {"type": "string"}, "required": True}}
        if code == 429:
            resp["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "required": True}}
        if code == 401:
            resp["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        out[str(code)] = resp
    return out


@cache
def document() -> dict[str, Any]:
    models: set[type[BaseModel]] = {m.Error}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        item: dict[str, Any] = {"operationId": _operation_id(op), "summary": op.summary, "responses": _responses(op)}
        if op.security:
            item["security"] = [{op.security: []}]
        if op.params:
            item["parameters"] = [{"name": p.name, "in": p.where, "required": p.required, "schema": p.schema,
                                   **({"description": p.description} if p.description else {})} for p in op.params]
        if op.body is not None:
            models.add(op.body)
            item["requestBody"] = {"required": op.body_required, "content": _json(_ref(op.body))}
        if isinstance(op.ok, type):
            models.add(op.ok)
        models.update(model for _, model in op.extra.values())
        if op.links:
            item["responses"][str(op.status)]["links"] = op.links
        paths.setdefault(op.path, {})[op.method] = item
    ordered = sorted(models, key=lambda c: c.__name__)
    requests_ = (HookRequest, SignRequest, m.RevokeRequest, m.WithdrawRequest)
    _, defs = models_json_schema([(c, "validation" if c in requests_
                                   else "serialization") for c in ordered], ref_template=REF)
    from gatekeeper.notify import openapi as notify_doc  # the outgoing webhooks (issue 14)

    schemas = {**defs.get("$defs", {}), **notify_doc.SCHEMAS}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Gatekeeper", "version": __version__,
                 "description": "Change-management controls for OT configuration in Git. Errors are "
                                "{\"error\": {\"code\", \"message\"}}; ids are positive 64-bit integers."},
        "paths": paths,
        "webhooks": notify_doc.webhooks(),
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                           "hook": {"type": "http", "scheme": "bearer"}},
                       "schemas": schemas},
    }


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(document())
