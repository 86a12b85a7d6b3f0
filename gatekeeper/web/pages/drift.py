"""``/drift``: each live source, its last check, its state and the diff (issue 15, SPEC §11), with the
approved and the live value of each difference side by side, and "check now" (issue 25).

Any signed-in user may look (like ``/log``): what runs in the plant is no secret to the people who
approve it. Checking now reads the plant and writes the log, so it is a POST with a CSRF token, for
admins and auditors only, logged with who asked (``drift.checked`` ``trigger``). Where a source is
read from is shown without credentials (URL user info is dropped).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from gatekeeper.errors import GatekeeperError
from gatekeeper.web.context import services
from gatekeeper.web.forms import DriftCheckForm
from gatekeeper.web.pages.auth import current_roles, current_user, login_required, role_required

bp = Blueprint("pages_drift", __name__)
CHECK_ROLES = ("admins", "auditors")


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
    may_check = bool(current_roles().intersection(CHECK_ROLES))
    return render_template("drift/index.html", sources=rows, counts=counts,
                           unchecked=sum(1 for r in rows if r["state"] is None),
                           interval=svc.config.drift.interval_minutes,
                           check_form=DriftCheckForm(formdata=None) if may_check else None)


@bp.post("/drift/check")
@role_required(*CHECK_ROLES)
def check_now() -> Any:
    """Check one source now (the same ``drift.check.run_checks`` as the schedule and the CLI)."""
    from gatekeeper.drift.check import run_checks

    form = DriftCheckForm()
    if not form.validate_on_submit():
        flash(_("Nothing was checked: the form was incomplete."), "error")
        return redirect(url_for("pages_drift.index"), 303)
    me = current_user()
    name = form.source.data or ""
    try:
        results = run_checks(services(), source=name, trigger="page", actor=me.username if me else "-")
    except GatekeeperError as exc:
        if exc.http_status >= 500:
            raise
        flash(_("Nothing was checked: %(reason)s", reason=exc.message), "error")
        return redirect(url_for("pages_drift.index"), 303)
    for r in results:
        flash(_("%(source)s checked now: %(state)s — %(summary)s", source=r.source.name, state=r.state,
                summary=r.summary), "success" if r.state == "in line" else "error")
    return redirect(url_for("pages_drift.index", _anchor=f"source-{name}"), 303)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
