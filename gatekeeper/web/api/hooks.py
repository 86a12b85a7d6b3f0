"""The hooks' endpoints: bearer token only; the body carries everything (SPEC §6)."""

from __future__ import annotations

from flask import Blueprint

from gatekeeper.actions import push
from gatekeeper.actions.payloads import HookRequest, parse
from gatekeeper.web.api import json_body
from gatekeeper.web.api.schemas import HookDecision, HookRecord, respond
from gatekeeper.web.auth import hook_token
from gatekeeper.web.context import services

bp = Blueprint("api_hooks", __name__)


@bp.post("/hooks/pre-receive")
@hook_token
def pre_receive():  # type: ignore[no-untyped-def]
    req = parse(HookRequest, json_body())
    return respond(HookDecision, push.decide_push(services(), req))  # type: ignore[arg-type]


@bp.post("/hooks/post-receive")
@hook_token
def post_receive():  # type: ignore[no-untyped-def]
    req = parse(HookRequest, json_body())
    return respond(HookRecord, push.record_push(services(), req))  # type: ignore[arg-type]
