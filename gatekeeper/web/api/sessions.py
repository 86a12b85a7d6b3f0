"""``POST /api/v1/sessions/revoke``: an admin signs a user out of every web session (issue 12)."""

from __future__ import annotations

from flask import Blueprint, g

from gatekeeper.actions.payloads import parse
from gatekeeper.web.api import json_body
from gatekeeper.web.api.schemas import Revoked, RevokeRequest, respond
from gatekeeper.web.auth import basic_auth, role_required
from gatekeeper.web.context import services

bp = Blueprint("api_sessions", __name__)


@bp.post("/sessions/revoke")
@basic_auth
@role_required("admins")
def revoke():  # type: ignore[no-untyped-def]
    from gatekeeper.actions.sessions import revoke_everywhere
    from gatekeeper.directory.lockout import identity_key

    req = parse(RevokeRequest, json_body())
    name = identity_key(services().directory, req.username)
    n = revoke_everywhere(services().store, name, g.user.username, "api", services().clock)
    return respond(Revoked, {"username": name, "revoked": n})
