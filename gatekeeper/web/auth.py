"""Who is calling, in one place: Basic auth for people on the API (checked against the directory on
every call: an approval by API is an electronic signature), the hook bearer token (constant-time
comparison), sessions for pages, and roles."""

from __future__ import annotations

import dataclasses
import hmac
import logging
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import g, request

from gatekeeper.directory.lockout import Lockout
from gatekeeper.errors import AuthError, Forbidden
from gatekeeper.policy import rules
from gatekeeper.policy.people import User
from gatekeeper.policy.rules import Role
from gatekeeper.web.context import services

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("gatekeeper.auth")


def check_password(username: str, password: str) -> User:
    """Directory check with brute-force protection shared by login, Basic auth and signatures.

    The counters live in the database (``auth_counter``), keyed on the canonical identity, so the
    limits hold for every worker on every host. The check is reserved before the directory sees
    the password (``Lockout.begin_in``), in a transaction holding the identity's lock: however many
    workers and threads race, at most the threshold of wrong passwords is ever checked, and one
    burst imposes one lock, logged as ``auth.locked`` exactly once (issue 22).
    """
    from gatekeeper.directory.lockout import identity_key
    from gatekeeper.ledger.events import AuthLocked
    from gatekeeper.store import log as ledger
    from gatekeeper.store.counters import SqlCounters

    svc = services()
    guard = _lockout()
    client = request.remote_addr or "-"
    ident = identity_key(svc.directory, username)
    ticket = _reserve(guard, ident, client)
    try:
        user = svc.directory.authenticate(username, password)
    except AuthError:
        log.warning("authentication failed for %r from %s", username, client)
        with svc.store.write() as session:
            for lock in guard.failure_in(SqlCounters(session), ident, client, ticket):
                # A lock is evidence of an attack on an account: the change log, not only the service log.
                ledger.append(session, AuthLocked(username=ident, typed=username[:256], client=client,
                                                  lock=dataclasses.asdict(lock)), ident)
        raise
    except BaseException:  # the directory did not answer: nothing was checked, nothing is counted
        with svc.store.side_write() as session:
            guard.release_in(SqlCounters(session), ident, client, ticket)
        raise
    with svc.store.side_write() as session:
        guard.success_in(SqlCounters(session), ident, client, ticket)
    return user


def _reserve(guard: Lockout, ident: str, client: str) -> float:
    """``Lockout.begin_in`` in its own transaction; while checks in flight fill the threshold
    (``Busy``), wait for them to settle, at most as long as one directory check may take."""
    import time

    from gatekeeper.directory.lockout import Busy
    from gatekeeper.store.counters import SqlCounters

    svc = services()
    give_up = time.monotonic() + svc.config.directory.timeout + 1.0
    while True:
        try:
            with svc.store.side_write() as s:
                return guard.begin_in(SqlCounters(s), ident, client)
        except Busy:
            if time.monotonic() >= give_up:
                raise
            time.sleep(0.05)


def _lockout() -> Lockout:
    """The lockout policy (thresholds); its counts are in the database."""
    from flask import current_app

    return current_app.extensions.setdefault("gatekeeper.lockout", Lockout())  # type: ignore[no-any-return]


def rate_limit(bucket: str, per_minute: int) -> None:
    """Count this request against ``bucket`` for the client address (all workers share the count);
    over the limit: 429 with ``Retry-After``."""

    from gatekeeper.errors import RateLimited
    from gatekeeper.store import ratelimit

    if per_minute <= 0:
        return
    client = request.remote_addr or "-"
    count, left = ratelimit.hit(services().store, f"{bucket}\x1f{client}", services().clock().timestamp())
    if count > per_minute:
        raise RateLimited(f"too many requests from {client}: at most {per_minute} a minute; "
                          f"try again in {left} s", left)


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
    """The service's hook token (``gitio.hookconfig.service_token``: the file wins when readable)."""
    from gatekeeper.gitio.hookconfig import service_token

    return service_token(token_file, env_name)


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


def roles_of(user: User) -> frozenset[Role]:
    """The Gatekeeper roles the user holds right now (``policy.rules.roles_of`` on a fresh lookup)."""
    svc = services()
    return rules.roles_of((m.group for m in svc.directory.memberships(user.username)), svc.config.roles)


def require_role(user: User, *names: str) -> None:
    held = roles_of(user)
    if not held.intersection(names):
        groups = sorted({grp for n in names for grp in services().config.roles.groups(Role(n))})
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
