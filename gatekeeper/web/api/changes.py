"""Change requests: list, show, sign, withdraw (SPEC §6, §10)."""

from __future__ import annotations

from flask import Blueprint, g, request

from gatekeeper.actions import changes, signing, views
from gatekeeper.actions.payloads import SignRequest, parse
from gatekeeper.errors import InputError
from gatekeeper.store import changes as q
from gatekeeper.web.api import json_body
from gatekeeper.web.api.schemas import Change, ChangeList, WithdrawRequest, respond
from gatekeeper.web.auth import basic_auth
from gatekeeper.web.context import services

bp = Blueprint("api_changes", __name__)


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InputError(f"{name} must be an integer") from exc
    if not lo <= value <= hi:
        raise InputError(f"{name} must be between {lo} and {hi}")
    return value


@bp.get("/changes")
@basic_auth
def list_changes():  # type: ignore[no-untyped-def]
    svc = services()
    limit = _int_arg("limit", 100, 1, 1000)
    offset = _int_arg("offset", 0, 0, 10**9)
    with svc.store.read() as s:
        rows, total = q.listing(s, state=request.args.get("state") or None, repo=request.args.get("repo") or None,
                                category=request.args.get("category") or None, limit=limit, offset=offset)
        items = [views.summary(svc, cr) for cr in rows]
    return respond(ChangeList, {"changes": items, "total": total, "limit": limit, "offset": offset})


@bp.get("/changes/<int:change_id>")
@basic_auth
def show_change(change_id: int):  # type: ignore[no-untyped-def]
    return respond(Change, views.change_json(services(), change_id))


@bp.post("/changes/<int:change_id>/approvals")
@basic_auth
def sign(change_id: int):  # type: ignore[no-untyped-def]
    req = parse(SignRequest, json_body())
    signing.sign(services(), change_id, g.user, req)  # type: ignore[arg-type]
    return respond(Change, views.change_json(services(), change_id), 201)


@bp.post("/changes/<int:change_id>/withdraw")
@basic_auth
def withdraw(change_id: int):  # type: ignore[no-untyped-def]
    body = WithdrawRequest() if not request.get_data() else parse(WithdrawRequest, json_body())
    changes.withdraw(services(), change_id, g.user, reason=body.reason)
    return respond(Change, views.change_json(services(), change_id))
