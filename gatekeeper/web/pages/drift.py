"""``/drift``: each live source, its last check, its state and the diff (issue 15, SPEC §11).

Any signed-in user may look (like ``/log``): what runs in the plant is no secret to the people who
approve it. Where a source is read from is shown without credentials (URL user info is dropped).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, render_template

from gatekeeper.web.context import services
from gatekeeper.web.pages.auth import login_required

bp = Blueprint("pages_drift", __name__)


@bp.get("/drift")
@login_required
def index() -> Any:
    from gatekeeper.drift.check import states

    svc = services()
    rows = states(svc)
    for row in rows:
        if row["kind"] == "url":
            row["how"] = _without_userinfo(row["how"])
    counts = {state: sum(1 for r in rows if r["state"] == state) for state in ("in line", "drift", "error")}
    return render_template("drift/index.html", sources=rows, counts=counts,
                           unchecked=sum(1 for r in rows if r["state"] is None),
                           interval=svc.config.drift.interval_minutes)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
