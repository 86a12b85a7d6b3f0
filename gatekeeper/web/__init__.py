"""The approval service: Flask app factory (the Flask tutorial's pattern) and blueprints.

Production: ``gunicorn "gatekeeper.web:create_app()"`` with ``GATEKEEPER_CONFIG`` and the secrets in
the environment. Nothing is created at import time.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from gatekeeper import config as config_mod
from gatekeeper.actions.context import Services
from gatekeeper.config import Config

MAX_BODY_BYTES = 512 * 1024 * 1024  # a push of thousands of files with contents


class BoundedInt(IntegerConverter):
    """``<int:…>`` for ids: at most 2^31 - 1 (the INTEGER id columns, 32-bit on PostgreSQL), so a larger
    id (2^63 included) is a plain 404 on the API and the pages instead of an overflow (500) in the driver."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


# How long a thread keeps the GIL while another wants it (CPython's default: 5 ms). A request holding the
# log's writer lock waits on the database between statements; in a threaded worker (gunicorn gthread,
# waitress) each reply then waited up to an interval behind a page being rendered, and every other push
# and signature waited behind the lock: 10 statements took a median 147 ms next to 3 busy threads at
# 5 ms, 13 ms at 1 ms (docs/benchmarks.md). Rendering pays a few more switches.
SWITCH_INTERVAL_S = 0.001


def create_app(config: Config | str | os.PathLike[str] | None = None,
               overrides: dict[str, Any] | None = None) -> Flask:
    cfg = config if isinstance(config, Config) else config_mod.load(config)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    app = Flask(__name__)
    secret = os.environ.get(cfg.service.secret_key_env, "")
    app.config.update(
        SECRET_KEY=secret,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.service.url.startswith("https://"),
        # The cookie may outlive the idle timeout (the server-side session does not: web_session decides), so
        # a form sent after the timeout still says whose it was and its draft is kept (issue 25).
        PERMANENT_SESSION_LIFETIME=cfg.service.session_absolute_hours * 3600,
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.config.update(overrides or {})
    app.url_map.converters["int"] = BoundedInt  # before any blueprint: every <int:…> route is bounded
    if cfg.service.trusted_proxies:
        # Behind a reverse proxy the client address (lockout, logs) comes from X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = cfg.service.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    if not app.config["SECRET_KEY"]:
        from gatekeeper.errors import ConfigError

        raise ConfigError(f"environment variable {cfg.service.secret_key_env} is not set (service.secret_key_env)",
                          file=str(cfg.path))
    from gatekeeper.bootstrap import open_store
    from gatekeeper.directory import open_directory

    store = open_store(cfg, create=False)
    directory = open_directory(cfg)
    app.extensions["gatekeeper"] = Services(config=cfg, store=store, directory=directory)
    _start(app)

    from gatekeeper.web import errors, health
    from gatekeeper.web.api import register as register_api

    errors.init_app(app)
    app.register_blueprint(health.bp)
    from gatekeeper.web.pages import register as register_pages

    register_api(app)
    register_pages(app)
    from gatekeeper.web import warm

    if warm.under_gunicorn() and not app.config.get("TESTING"):
        warm.warm(app, cfg.service.languages)
    if not app.config.get("TESTING"):
        from gatekeeper.drift import schedule

        app.extensions["gatekeeper.drift"] = schedule.start(app.extensions["gatekeeper"])
    return app


def _start(app: Flask) -> None:
    """What needs the database at start: migrations, the signing key's ``key.created``, ``config.loaded``.

    A worker (re)started while the database is unreachable (a PostgreSQL restart, a network cut) must
    not die: gunicorn halts the whole instance when workers fail to boot. It starts anyway, answers
    503 ``database_unavailable`` and finishes these steps on the first request that finds the
    database back. A schema it may not migrate is still a hard error.
    """
    from gatekeeper.checkpoints.keys import ensure_key
    from gatekeeper.errors import DatabaseUnavailable, ServiceUnavailable
    from gatekeeper.store.db import is_unreachable

    svc: Services = app.extensions["gatekeeper"]

    def steps() -> None:
        svc.store.create_schema()
        ensure_key(svc.config, svc.store)  # SPEC §10: serve (and each gunicorn worker) creates it when missing
        _record_policy(svc)

    try:
        steps()
        return
    except ServiceUnavailable as exc:
        if not (exc.__cause__ is not None and is_unreachable(exc.__cause__)):
            raise
    except Exception as exc:
        if not is_unreachable(exc):
            raise
    import logging

    logging.getLogger("gatekeeper.web").warning("database unreachable at start; answering 503 until it is back")
    pending = [True]

    @app.before_request
    def _finish_start() -> None:
        from flask import request

        if not pending[0] or request.endpoint in ("health.healthz", "static"):
            return
        try:
            steps()
        except ServiceUnavailable as exc:
            logging.getLogger("gatekeeper.web").warning("start not finished: %s", exc.message)
            raise DatabaseUnavailable("the database is unreachable, nothing was recorded; try again when it "
                                      "is back") from exc
        pending[0] = False


def _record_policy(services: Services) -> None:
    """Log ``config.loaded`` with the policy file's SHA-256 whenever it differs from the last one logged."""
    from gatekeeper.ledger.events import ConfigLoaded
    from gatekeeper.store import log
    from gatekeeper.store.tables import Setting

    cfg = services.config
    with services.store.write() as session:
        last = session.get(Setting, "policy_sha256")
        if last is not None and last.value == cfg.sha256:
            return
        log.append(session, ConfigLoaded(path=str(cfg.path), sha256=cfg.sha256, size=len(cfg.raw),
                                         policy=cfg.raw.decode("utf-8")))
        if last is None:
            session.add(Setting(key="policy_sha256", value=cfg.sha256))
        else:
            last.value = cfg.sha256
