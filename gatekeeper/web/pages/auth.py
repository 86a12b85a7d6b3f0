"""Sign-in for the pages: directory credentials, server-side sessions, idle and absolute timeouts.

The cookie holds only a random session token; the ``web_session`` row (store.sessions) says whose it
is and whether it still counts, so sign-out, an admin's "sign out everywhere" and both timeouts hold
on every worker and host, and a cookie copied before sign-out is worthless after it. The token is
new at every sign-in. The user is re-read from the directory on every request, so someone removed
from the directory (or from a group) loses access at their next click.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.wrappers import Response

from gatekeeper.errors import AuthError, GatekeeperError, ServiceUnavailable
from gatekeeper.policy.people import User
from gatekeeper.store import sessions as web_sessions
from gatekeeper.web.auth import check_password, rate_limit, require_role, roles_of
from gatekeeper.web.context import services
from gatekeeper.web.forms import LoginForm, LogoutForm, RevokeForm
from gatekeeper.web.names import name_of

bp = Blueprint("pages_auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])

LOGIN_FAILED = _l("Sign-in failed: unknown username or wrong password.")
LOCKED = "too many failed attempts"  # directory.lockout's message, the same for known and unknown names


def failure_text(exc: AuthError, generic: object) -> str:
    """The one generic message, except a lockout, which says when to try again (it reveals nothing
    about the account, and hiding it would make people keep typing into a locked door)."""
    return exc.message if exc.message.startswith(LOCKED) else str(generic)


def init_app(app: Flask) -> None:
    app.before_request(load_user)

    @app.context_processor
    def _page_globals() -> dict[str, Any]:
        user = current_user()
        return {"user": user, "roles": current_roles() if user else set(),
                "logout_form": LogoutForm() if user else None}


SIGNED_OUT = {
    web_sessions.IDLE: _l("You were signed out after %(minutes)s minutes without activity."),
    web_sessions.EXPIRED: _l("Your session reached its maximum length (%(hours)s hours): please sign in again."),
    web_sessions.REVOKED: _l("You were signed out (from this or another window, or by an administrator)."),
}


def load_user() -> None:
    """Who is signed in, from the server-side session the cookie's token names."""
    from gatekeeper.web.pages import is_api_request

    g.user = None
    g.ended_user = None
    if is_api_request() or request.endpoint == "static":
        return
    token = session.get("sid")
    if not isinstance(token, str) or not token:
        return
    cfg = services().config.service
    minutes, hours = cfg.session_idle_minutes, cfg.session_absolute_hours
    found = web_sessions.lookup(services().store, token, services().clock().timestamp(), minutes * 60, hours * 3600)
    if found.username is None:
        session.clear()
        g.ended_user = found.ended_for
        if found.reason in SIGNED_OUT:
            flash(str(SIGNED_OUT[found.reason]) % {"minutes": minutes, "hours": hours}, "info")
        return
    user = services().directory.get_user(found.username)
    if user is None:
        web_sessions.revoke(services().store, token, services().clock().timestamp(), "gatekeeper")
        session.clear()
        flash(_("You were signed out: your account is no longer in the directory."), "error")
        return
    session.permanent = True  # the cookie's lifetime is the idle timeout, renewed on each request
    g.user = user


def current_user() -> User | None:
    user: User | None = g.get("user")
    return user


def current_roles() -> set[str]:
    """The user's Gatekeeper roles, looked up once per request."""
    if "roles" not in g:
        user = current_user()
        g.roles = roles_of(user) if user else set()
    return g.roles  # type: ignore[no-any-return]


def login_required(f: F) -> F:
    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("pages_auth.login", next=return_to()))
        return f(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def return_to() -> str:
    """Where to go after signing in: the page asked for; for a form sent after the session ended, the page
    the form was on (a POST-only address opened with GET would be "405 Method not allowed")."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("pages_dashboard.index")


def role_required(*names: str) -> Callable[[F], F]:
    """Signed in and holding one of the roles; otherwise a 403 page that says which role is needed."""

    def deco(f: F) -> F:
        @wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            assert user is not None
            require_role(user, *names)
            return f(*args, **kwargs)

        return login_required(wrapper)  # type: ignore[return-value]

    return deco


def safe_next(target: str | None) -> str:
    """Only same-site paths: a crafted ``?next=`` must not send a signed-in user elsewhere."""
    default = url_for("pages_dashboard.index")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(request.args.get("next")))
        form.next.data = request.args.get("next", "")
        return render_template("login.html", form=form)
    rate_limit("login", services().config.service.rate_limit_login)
    if not form.validate_on_submit():
        return render_template("login.html", form=form), 400
    try:
        user = check_password(form.username.data or "", form.password.data or "")
    except AuthError as exc:
        return render_template("login.html", form=form, failure=failure_text(exc, LOGIN_FAILED)), 401
    except ServiceUnavailable as exc:
        failure = _("Cannot sign in right now: %(reason)s", reason=exc.message)
        return render_template("login.html", form=form, failure=failure), 503
    except GatekeeperError as exc:  # lockout after repeated failures: its message says how long
        return render_template("login.html", form=form, failure=exc.message), exc.http_status
    old = session.get("sid")
    if isinstance(old, str) and old:
        web_sessions.revoke(services().store, old, services().clock().timestamp(), user.username)
    session.clear()  # a fresh session id (and CSRF token) for the new identity: no fixation
    session.permanent = True
    from gatekeeper.actions.sessions import sign_in

    session["sid"] = sign_in(services().store, user.username, request.remote_addr or "-", services().clock)
    return redirect(safe_next(form.next.data))


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response | str:
    if request.method == "GET":
        if current_user() is None:
            return redirect(url_for("pages_auth.login"))
        return render_template("logout.html")
    token = session.get("sid")
    if isinstance(token, str) and token:
        user = current_user()
        web_sessions.revoke(services().store, token, services().clock().timestamp(), user.username if user else "-")
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("pages_auth.login"))


@bp.route("/admin/sessions", methods=["GET", "POST"])
@role_required("admins")
def admin_sessions() -> Any:
    """Admins: who is signed in, and "sign out everywhere" for one user (a lost laptop, a leaver)."""
    from gatekeeper.actions.sessions import revoke_everywhere
    from gatekeeper.directory.lockout import identity_key

    form = RevokeForm()
    cfg = services().config.service
    rows = web_sessions.open_counts(services().store, services().clock().timestamp(), cfg.session_idle_minutes * 60,
                                    cfg.session_absolute_hours * 3600)
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("admin_sessions.html", form=form, rows=rows, total=sum(n for _u, n, _s in rows),
                                   idle=cfg.session_idle_minutes, hours=cfg.session_absolute_hours), 400
        name = identity_key(services().directory, form.username.data or "")
        if form.confirm.data != "yes":  # step one: who, how many sessions, what it does; nothing happens yet
            form.confirm.data = "yes"
            open_now = next((n for user, n, _seen in rows if user == name), 0)
            return render_template(
                "confirm.html", form=form, action=url_for("pages_auth.admin_sessions"),
                title=_("Sign %(name)s out everywhere?", name=name_of(name)),
                question=ngettext("%(who)s has %(num)s open session. Every browser signed in as %(who)s is signed "
                                  "out at its next click, on every host; the action is recorded in the change log.",
                                  "%(who)s has %(num)s open sessions. Every browser signed in as %(who)s is signed "
                                  "out at its next click, on every host; the action is recorded in the change log.",
                                  open_now, who=f"{name_of(name)} ({name})"),
                fields=[], hidden=[form.username], button=_("Yes, sign out everywhere"),
                cancel=url_for("pages_auth.admin_sessions"))
        me = current_user()
        n = revoke_everywhere(services().store, name, me.username if me else "-", "page", services().clock)
        flash(ngettext("%(num)s session of %(name)s signed out.", "%(num)s sessions of %(name)s signed out.", n,
                       name=name), "info")
        return redirect(url_for("pages_auth.admin_sessions"))
    return render_template("admin_sessions.html", form=form, rows=rows, total=sum(n for _u, n, _s in rows),
                           idle=cfg.session_idle_minutes, hours=cfg.session_absolute_hours)
