"""The server-rendered approval web app (SPEC §6): blueprints, CSRF, security headers, idle timeout.

Pages use the session cookie, so every unsafe request carries a CSRF token; the JSON API and
``/healthz`` authenticate each call with Basic or Bearer credentials instead and are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect  # type: ignore[import-untyped]

from gatekeeper.formats.base import ICONS

CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def is_api_request() -> bool:
    """Requests authenticated per call (API, health) rather than by the session cookie."""
    bp = request.blueprint or ""
    return bp.startswith("api_") or bp == "health" or request.path.startswith("/api/")


def register(app: Flask) -> None:
    from gatekeeper.web.pages import access, audit, auth, change_actions, change_list, changes, dashboard  # noqa: F401
    from gatekeeper.web.pages import drift as drift_page

    # Our own hook decides which requests need a token, so blueprints registered later stay covered.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf() -> None:
        if request.endpoint and current_app.config.get("WTF_CSRF_ENABLED", True) and not is_api_request():
            csrf.protect()

    @app.errorhandler(CSRFError)
    def _csrf_refused(exc: CSRFError) -> tuple[str, int]:
        from flask_babel import gettext as _

        message = _("%(reason)s The form was not sent from a current page of this site, or your session ended: "
                    "go back, reload the page and try again. Nothing was recorded.", reason=exc.description)
        return render_template("error.html", status=400, message=message), 400

    @app.after_request
    def _headers(resp: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)
        if not is_api_request() and request.endpoint != "static":
            resp.headers.setdefault("Cache-Control", "no-store")  # pages show who signed what
        return resp

    from gatekeeper.web import i18n, labels

    i18n.init_app(app, app.extensions["gatekeeper"])
    app.jinja_env.filters["short"] = short
    app.jinja_env.filters["epoch_iso"] = lambda t: datetime.fromtimestamp(float(t), UTC).isoformat()
    app.jinja_env.globals["change_icon"] = ICONS.get
    app.jinja_env.globals.update(state_label=labels.state_label, kind_label=labels.kind_label,
                                 severity_label=labels.severity_label, drift_label=labels.drift_label,
                                 access_label=labels.access_label,
                                 status_title=labels.status_title, period_label=labels.period_label,
                                 standing_label=labels.standing_label, next_step=labels.next_step)
    from gatekeeper.actions.comments import file_anchor
    from gatekeeper.web import names
    from gatekeeper.web.forms import field_attrs

    app.jinja_env.globals.update(person=names.person, name_of=names.name_of, ticket_link=names.ticket_link,
                                 file_anchor=file_anchor, field_attrs=field_attrs)
    for bp in (auth.bp, dashboard.bp, changes.bp, audit.bp, drift_page.bp, access.bp):
        app.register_blueprint(bp)
    from gatekeeper.web.pages import settings  # mail settings (issue 14)

    app.register_blueprint(settings.bp)
    auth.init_app(app)


def short(value: Any, n: int = 12) -> str:
    return str(value or "")[:n]
