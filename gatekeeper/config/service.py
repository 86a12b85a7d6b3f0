"""``[service]`` and ``[git]`` (SPEC §4, §11): where the service listens, its database and secrets' names,
and what the hooks read from a push."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper.config.toml import Reader, env_name, http_url_problem, optional_path, resolve_path

DEFAULT_PUSHER_ENV = ("GATEKEEPER_USER", "GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER", "REMOTE_USER")
LANGUAGES = ("en", "nl", "de")  # the catalogues shipped in gatekeeper/web/translations


@dataclass(frozen=True)
class ServiceConfig:
    url: str = "http://127.0.0.1:8080"
    database: str = "sqlite:///var/gatekeeper.db"
    secret_key_env: str = "GATEKEEPER_SECRET_KEY"  # noqa: S105 - names a variable, holds no secret
    hook_token_env: str = "GATEKEEPER_HOOK_TOKEN"  # noqa: S105
    hook_token_file: Path | None = None  # wins over hook_token_env; mode 0600/0400 (SPEC §11)
    signing_key: Path = Path("var/ledger-signing-key.pem")
    fail_open: bool = False
    checkpoint_every: int = 1000
    session_idle_minutes: int = 30
    trusted_proxies: int = 0  # reverse-proxy hops whose X-Forwarded-For/-Proto are believed
    session_absolute_hours: int = 12  # a web session ends this long after sign-in, active or not
    rate_limit_api: int = 600  # API requests per minute per client address (0: off; hooks exempt)
    rate_limit_login: int = 30  # login attempts per minute per client address (0: off)
    # Pages and mails (SPEC §12): languages offered, the fallback, and the time zone pages show by default.
    languages: tuple[str, ...] = ("en", "nl", "de")
    default_language: str = "en"
    timezone: str = "UTC"
    name: str = "gatekeeper"  # the log's origin is gatekeeper/<name> (SPEC §12); default: the URL's host

    @property
    def origin(self) -> str:
        """The origin line of the log's checkpoints and its note key name (C2SP tlog-checkpoint)."""
        return f"gatekeeper/{self.name}"


@dataclass(frozen=True)
class GitConfig:
    pusher_env: tuple[str, ...] = DEFAULT_PUSHER_ENV
    max_content_bytes: int = 20 * 1024 * 1024



def resolve_database_url(base: Path, url: str) -> str:
    """``sqlite:///rel.db`` is relative to the config's folder; ``sqlite:////abs.db`` is absolute."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(resolve_path(base, url[len(prefix):]).resolve())
    return url


def _languages(r: Reader, d: ServiceConfig) -> dict[str, Any]:
    """``languages``, ``default_language`` and ``timezone`` (SPEC §12), each checked against what exists."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    languages = r.strings("languages", d.languages)
    for lang in languages:
        if lang not in LANGUAGES:
            raise r.fail("languages", f"{lang!r} has no catalogue (available: {', '.join(LANGUAGES)})")
    default = r.get("default_language", str, d.default_language)
    if default not in languages:
        raise r.fail("default_language", f"must be one of languages ({', '.join(languages)})")
    tz = r.get("timezone", str, d.timezone)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise r.fail("timezone", f"{tz!r} is not an IANA time zone (e.g. \"Europe/Amsterdam\", \"UTC\")") from exc
    return {"languages": languages, "default_language": default, "timezone": tz}


def read_service(r: Reader, base: Path) -> ServiceConfig:
    d = ServiceConfig()
    url = r.get("url", str, d.url).rstrip("/")
    if problem := http_url_problem(url):
        raise r.fail("url", problem)
    database = r.get("database", str, d.database)
    if not database.startswith(("sqlite:", "postgresql")):
        raise r.fail("database", "must be a sqlite:/// or postgresql+psycopg:// URL")
    svc = ServiceConfig(
        url=url,
        database=resolve_database_url(base, database),
        secret_key_env=env_name(r, "secret_key_env", d.secret_key_env),
        hook_token_env=env_name(r, "hook_token_env", d.hook_token_env),
        hook_token_file=optional_path(r, base, "hook_token_file"),
        signing_key=resolve_path(base, r.get("signing_key", str, str(d.signing_key))),
        fail_open=r.get("fail_open", bool, d.fail_open),
        checkpoint_every=r.get("checkpoint_every", int, d.checkpoint_every),
        session_idle_minutes=r.get("session_idle_minutes", int, d.session_idle_minutes),
        trusted_proxies=r.get("trusted_proxies", int, d.trusted_proxies),
        session_absolute_hours=r.get("session_absolute_hours", int, d.session_absolute_hours),
        rate_limit_api=r.get("rate_limit_api", int, d.rate_limit_api),
        rate_limit_login=r.get("rate_limit_login", int, d.rate_limit_login),
        **_languages(r, d),
        name=r.get("name", str, _host(url)),
    )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:\-/]*", svc.name):
        raise r.fail("name", "may hold letters, digits, '.', '_', ':', '-' and '/' only (the log's origin "
                             "is gatekeeper/<name>)")
    for key in ("session_idle_minutes", "session_absolute_hours"):
        if getattr(svc, key) < 1:
            raise r.fail(key, "must be at least 1")
    for key in ("rate_limit_api", "rate_limit_login"):
        if getattr(svc, key) < 0:
            raise r.fail(key, "must be a number of requests per minute (0: no limit)")
    if not 0 <= svc.trusted_proxies <= 5:
        raise r.fail("trusted_proxies", "must be the number of reverse proxies in front of the service (0 to 5)")
    if svc.checkpoint_every < 0:
        raise r.fail("checkpoint_every", "must be 0 (off) or a positive number of entries")
    r.finish()
    return svc


def _host(url: str) -> str:
    """The default ``service.name``: the URL's host and port (``127.0.0.1:8080``)."""
    rest = url.split("://", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._:\-]", "-", rest.split("/", 1)[0].rsplit("@", 1)[-1]) or "gatekeeper"


def read_git(r: Reader) -> GitConfig:
    g = GitConfig(
        pusher_env=r.strings("pusher_env", DEFAULT_PUSHER_ENV),
        max_content_bytes=r.get("max_content_bytes", int, GitConfig.max_content_bytes),
    )
    r.finish()
    return g

