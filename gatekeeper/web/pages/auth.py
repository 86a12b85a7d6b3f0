"""Sign-in for the pages: directory credentials, a session holding only the username, idle timeout.

The user is re-read from the directory on every request, so someone removed from the directory (or
from a group) loses access at their next click, not at the end of their session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from gatekeeper.directory.base import User
from gatekeeper.errors import AuthError, GatekeeperError, ServiceUnavailable
from gatekeeper.web import services
from gatekeeper.web.auth import check_password, require_role, roles_of
from gatekeeper.web.forms import LoginForm, LogoutForm

bp = Blueprint("pages_auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])

LOGIN_FAILED = "Sign-in failed: unknown username or wrong password."
LOCKED = "too many failed attempts"  # directory.lockout's message, the same for known and unknown names


def failure_text(exc: AuthError, generic: str) -> str:
    """The one generic message, except a lockout, which says when to try again (it reveals nothing
    about the account, and hiding it would make people keep typing into a locked door)."""
    return exc.message if exc.message.startswith(LOCKED) else generic


def init_app(app: Flask) -> None:
    app.before_request(load_user)

    @app.context_processor
    def _page_globals() -> dict[str, Any]:
        user = current_user()
        return {"user": user, "roles": current_roles() if user else set(),
                "logout_form": LogoutForm() if user else None}


def load_user() -> None:
    """Who is signed in; ends the session after ``service.session_idle_minutes`` without a request."""
    from gatekeeper.web.pages import is_api_request

    g.user = None
    if is_api_request() or request.endpoint == "static":
        return
    username = session.get("user")
    if not username:
        return
    now = int(time.time())
    minutes = services().config.service.session_idle_minutes
    if now - int(session.get("seen", 0)) > minutes * 60:
        session.clear()
        flash(f"You were signed out after {minutes} minutes without activity.", "info")
        return
    user = services().directory.get_user(username)
    if user is None:
        session.clear()
        flash("You were signed out: your account is no longer in the directory.", "error")
        return
    session.permanent = True  # the cookie's lifetime is the idle timeout, renewed on each request
    session["seen"] = now
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
            target = request.full_path if request.method == "GET" else request.path
            return redirect(url_for("pages_auth.login", next=target.rstrip("?")))
        return f(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


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
    if not form.validate_on_submit():
        return render_template("login.html", form=form), 400
    try:
        user = check_password(form.username.data or "", form.password.data or "")
    except AuthError as exc:
        return render_template("login.html", form=form, failure=failure_text(exc, LOGIN_FAILED)), 401
    except ServiceUnavailable as exc:
        failure = f"Cannot sign in right now: {exc.message}"
        return render_template("login.html", form=form, failure=failure), 503
    except GatekeeperError as exc:  # lockout after repeated failures: its message says how long
        return render_template("login.html", form=form, failure=exc.message), exc.http_status
    session.clear()  # a fresh session (and CSRF token) for the new identity
    session.permanent = True
    session["user"] = user.username
    session["seen"] = int(time.time())
    return redirect(safe_next(form.next.data))


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response | str:
    if request.method == "GET":
        if current_user() is None:
            return redirect(url_for("pages_auth.login"))
        return render_template("logout.html")
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("pages_auth.login"))
