"""The change log over HTTP: entries with their hashes, and the latest signed checkpoint."""

from __future__ import annotations

from flask import Blueprint, request

from gatekeeper.checkpoints.sign import latest_checkpoint
from gatekeeper.errors import InputError, NotFound
from gatekeeper.store import log
from gatekeeper.web.api.schemas import MAX_ID, Checkpoint, LogPage, respond
from gatekeeper.web.auth import basic_auth
from gatekeeper.web.context import services

bp = Blueprint("api_log", __name__)


@bp.get("/log")
@basic_auth
def entries():  # type: ignore[no-untyped-def]
    try:
        after = int(request.args.get("after", "0"))
        limit = int(request.args.get("limit", "100"))
    except ValueError as exc:
        raise InputError("after and limit must be integers") from exc
    if not 0 <= after <= MAX_ID or not 1 <= limit <= 10_000:
        raise InputError(f"after must be between 0 and {MAX_ID} and limit between 1 and 10000")
    with services().store.read() as s:
        items = [e.to_dict() for e in log.entries(s, after=after, limit=limit)]
        head = log.head(s)
    return respond(LogPage, {"entries": items, "head_seq": head.seq if head else 0})


@bp.get("/log/checkpoint")
@basic_auth
def checkpoint():  # type: ignore[no-untyped-def]
    with services().store.read() as s:
        cp = latest_checkpoint(s)
    if cp is None:
        raise NotFound("no checkpoint has been made yet (gatekeeper log checkpoint)")
    return respond(Checkpoint, cp.to_dict())
