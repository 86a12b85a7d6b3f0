"""Who is calling, in one place: Basic auth for people on the API (checked against the directory on
every call: an approval by API is an electronic signature), the hook bearer token (constant-time
comparison), sessions for pages, and roles."""

from __future__ import annotations

import dataclasses
import hmac
import logging
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import g, request

from gatekeeper.directory.base import User
from gatekeeper.directory.lockout import Lockout
from gatekeeper.errors import AuthError, ConfigError, Forbidden
from gatekeeper.web import services

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("gatekeeper.auth")


def check_password(username: str, password: str) -> User:
    """Directory check with brute-force protection shared by login, Basic auth and signatures."""
    svc = services()
    guard = _lockout()
    client = request.remote_addr or "-"
    # One person, one counter: the directory's spelling when the name resolves (so a fullwidth or
    # mathematical spelling of a locked name is still locked), else the typed name (unknown names are
    # counted the same way, so the answer reveals nothing).
    key = svc.directory.canonical(username) or username
    guard.check(key, client)
    try:
        user = svc.directory.authenticate(username, password)
    except AuthError:
        log.warning("authentication failed for %r from %s", username, client)
        for lock in guard.failure(key, client):
            _log_lock(key, client, lock)
        raise
    guard.success(key, client)
    return user


def _log_lock(username: str, client: str, lock: Any) -> None:
    """A lock is evidence of an attack on an account: it goes into the change log, not only the service log."""
    from gatekeeper.store import log as ledger

    with services().store.write() as session:
        ledger.append(session, "auth.locked", username, {
            "username": username, "client": client,
            "lock": dataclasses.asdict(lock)})


def _lockout() -> Lockout:
    """One lockout per app (per worker process)."""
    from flask import current_app

    return current_app.extensions.setdefault("gatekeeper.lockout", Lockout())  # type: ignore[no-any-return]


def basic_auth(f: F) -> F:
    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
            raise AuthError("HTTP Basic authentication with your directory credentials is required")
        g.user = check_password(auth.username, auth.password)
        return f(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def expected_hook_token(token_file: Path | None, env_name: str) -> str:
    """``hook_token_file`` wins when the service may read it (same user, or its own copy on another
    host); a file only the git server's user may read leaves the service on ``hook_token_env``."""
    if token_file is not None:
        from gatekeeper.gitio.hookconfig import read_token_file

        try:
            return read_token_file(str(token_file), owner=None)
        except ConfigError:
            if not (os.environ.get(env_name) and _unreadable(token_file)):
                raise
    return os.environ.get(env_name, "")


def _unreadable(path: Path) -> bool:
    try:
        path.open("rb").close()
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def hook_token(f: F) -> F:
    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cfg = services().config
        expected = expected_hook_token(cfg.service.hook_token_file, cfg.service.hook_token_env)
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if not expected:
            raise AuthError(f"the service has no hook token: set the environment variable "
                            f"{cfg.service.hook_token_env} for the service and the git server's hooks alike")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise AuthError("invalid hook token: the Bearer token sent differs from the service's "
                            f"{cfg.service.hook_token_env}; give the git server's hooks the same token")
        return f(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def roles_of(user: User) -> set[str]:
    """The Gatekeeper roles (auditors, admins, emergency) the user holds right now."""
    svc = services()
    groups = {m.group for m in svc.directory.memberships(user.username)}
    roles = svc.config.roles
    return {name for name in ("auditors", "admins", "emergency") if groups.intersection(getattr(roles, name))}


def require_role(user: User, *names: str) -> None:
    held = roles_of(user)
    if not held.intersection(names):
        groups = sorted({grp for n in names for grp in getattr(services().config.roles, n)})
        raise Forbidden(f"{user.username} needs the {' or '.join(names)} role, which members of "
                        f"{', '.join(groups) or '(no group: see [roles] in the policy)'} hold")


def role_required(*names: str) -> Callable[[F], F]:
    def deco(f: F) -> F:
        @wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require_role(g.user, *names)
            return f(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco
