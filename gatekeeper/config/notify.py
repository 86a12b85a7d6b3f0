"""``[notify]``, ``[notify.smtp]``, ``[[notify.webhooks]]`` and ``[itsm]`` (SPEC §11): the channels
notifications go out on, and the change ticket's ITSM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gatekeeper.config.toml import Reader, env_name, http_url_problem, no_clear_secrets, resolve_path, table
from gatekeeper.errors import ConfigError
from gatekeeper.policy.notices import NOTICES


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: str = "starttls"  # "starttls" | "ssl" | "none"
    username: str = ""
    password_env: str = ""
    from_: str = "gatekeeper@localhost"
    timeout: float = 10.0
    ca_file: Path | None = None  # verify the server's TLS certificate against this CA (default: system CAs)


@dataclass(frozen=True)
class WebhookConfig:
    name: str
    url: str
    kind: str = "standard"  # "standard" | "teams" | "slack"
    events: tuple[str, ...] = ("*",)
    repos: tuple[str, ...] = ()  # empty: every repo
    secret_env: str = ""

    def wants(self, event: str, repo: str | None) -> bool:
        return ("*" in self.events or event in self.events) and (not self.repos or repo is None or repo in self.repos)


@dataclass(frozen=True)
class NotifyConfig:
    smtp: SmtpConfig | None = None
    webhooks: tuple[WebhookConfig, ...] = ()
    max_attempts: int = 8
    backoff_seconds: float = 30.0
    interval_seconds: float = 15.0
    timeout: float = 10.0
    digest_hour: int = 7  # UTC hour at which daily digests go out (users choose digest on their settings page)

    @property
    def enabled(self) -> bool:
        return self.smtp is not None or bool(self.webhooks)


@dataclass(frozen=True)
class ItsmConfig:
    kind: str  # "servicenow" | "jira"
    url: str
    username: str = ""
    password_env: str = ""
    token_env: str = ""
    allowed_states: tuple[str, ...] = ()
    timeout: float = 10.0


def read_notify(root: Reader, base: Path) -> NotifyConfig:
    """``[notify]``, ``[notify.smtp]``, ``[[notify.webhooks]]`` (SPEC §11)."""
    r = table(root, "notify")
    d = NotifyConfig()
    smtp = None
    if "smtp" in r.data:
        s = Reader(r.get("smtp", dict), "notify.smtp", 0, root.file, root.loc)
        no_clear_secrets(s)
        security = s.get("security", str, "starttls")
        if security not in ("starttls", "ssl", "none"):
            raise s.fail("security", 'must be "starttls", "ssl" or "none"')
        smtp = SmtpConfig(
            host=s.get("host", str, required=True),
            port=s.get("port", int, 465 if security == "ssl" else (587 if security == "starttls" else 25)),
            security=security, username=s.get("username", str, ""),
            password_env=env_name(s, "password_env", "") if "password_env" in s.data else "",
            from_=s.get("from", str, "gatekeeper@localhost"),
            timeout=float(s.get("timeout", (int, float), 10.0)),
            ca_file=resolve_path(base, ca) if (ca := s.get("ca_file", str, None)) else None,
        )
        if smtp.username and not smtp.password_env:
            raise s.fail("password_env", "is required with username (SMTP AUTH): name the variable holding it")
        if "@" not in smtp.from_:
            raise s.fail("from", "must be an e-mail address")
        if not 0 < smtp.port < 65536:
            raise s.fail("port", "must be a TCP port (1-65535)")
        s.finish()
    hooks = []
    for i, item in enumerate(r.get("webhooks", list, [])):
        if not isinstance(item, dict):
            raise r.fail("webhooks", "must be an array of tables ([[notify.webhooks]])")
        hooks.append(_webhook(Reader(item, "notify.webhooks", i, root.file, root.loc, label=f"notify.webhooks[{i}]")))
    names = [h.name for h in hooks]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError("webhook defined twice", file=root.file, key="notify.webhooks.name",
                              line=root.loc.line("notify.webhooks", i, "name"))
    cfg = NotifyConfig(
        smtp=smtp, webhooks=tuple(hooks), max_attempts=r.get("max_attempts", int, d.max_attempts),
        backoff_seconds=float(r.get("backoff_seconds", (int, float), d.backoff_seconds)),
        interval_seconds=float(r.get("interval_seconds", (int, float), d.interval_seconds)),
        timeout=float(r.get("timeout", (int, float), d.timeout)),
        digest_hour=r.get("digest_hour", int, d.digest_hour),
    )
    if cfg.max_attempts < 1:
        raise r.fail("max_attempts", "must be at least 1")
    if cfg.backoff_seconds < 0 or cfg.interval_seconds <= 0 or cfg.timeout <= 0:
        raise r.fail("backoff_seconds" if cfg.backoff_seconds < 0 else "interval_seconds", "must be positive")
    if not 0 <= cfg.digest_hour <= 23:
        raise r.fail("digest_hour", "must be an hour of the day, 0 to 23 (UTC)")
    r.finish()
    return cfg


def _webhook(r: Reader) -> WebhookConfig:
    name = r.get("name", str, required=True)
    r.label = f"notify.webhooks[{name}]"
    no_clear_secrets(r)
    url = r.get("url", str, required=True)
    if problem := http_url_problem(url):
        raise r.fail("url", problem)
    kind = r.get("kind", str, "standard")
    if kind not in ("standard", "teams", "slack"):
        raise r.fail("kind", 'must be "standard", "teams" or "slack"')
    events = r.strings("events", ("*",))
    unknown = [e for e in events if e != "*" and e not in NOTICES]
    if unknown or not events:
        raise r.fail("events", f"unknown event {unknown[0]!r} (known: {', '.join(NOTICES)}, or \"*\")"
                     if unknown else "must name at least one event")
    secret_env = env_name(r, "secret_env", "") if "secret_env" in r.data else ""
    if kind == "standard" and not secret_env:
        raise r.fail("secret_env", 'is required for kind = "standard" (the Standard Webhooks signing secret)')
    hook = WebhookConfig(name=name, url=url, kind=kind, events=events, repos=r.strings("repos"), secret_env=secret_env)
    r.finish()
    return hook


def read_itsm(r: Reader) -> ItsmConfig:
    no_clear_secrets(r)
    kind = r.get("kind", str, required=True)
    if kind not in ("servicenow", "jira"):
        raise r.fail("kind", 'must be "servicenow" or "jira"')
    url = r.get("url", str, required=True).rstrip("/")
    if problem := http_url_problem(url):
        raise r.fail("url", problem)
    cfg = ItsmConfig(
        kind=kind, url=url, username=r.get("username", str, ""),
        password_env=env_name(r, "password_env", "") if "password_env" in r.data else "",
        token_env=env_name(r, "token_env", "") if "token_env" in r.data else "",
        allowed_states=r.strings("allowed_states", required=True),
        timeout=float(r.get("timeout", (int, float), 10.0)),
    )
    if not cfg.allowed_states:
        raise r.fail("allowed_states", "must name at least one state (fail closed)")
    if not (cfg.password_env or cfg.token_env):
        raise r.fail("password_env", "or token_env is required: name the variable holding the ITSM credential")
    if cfg.password_env and not cfg.username:
        raise r.fail("username", "is required with password_env")
    r.finish()
    return cfg
