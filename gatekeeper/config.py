"""``gatekeeper.toml`` → frozen, validated values (SPEC §4).

Standard library only: the git hook loads this on every push. Unknown keys, wrong types and clear
secrets are errors naming the file, the key and the line (tomllib gives no positions, so
``_Locator`` finds them in the text).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper.errors import ConfigError
from gatekeeper.policy.access import DEFAULT_CONFLICTS, DEFAULT_DORMANT_DAYS, conflict_pair, conflict_problem
from gatekeeper.policy.categories import branch_pattern, branch_pattern_problem, path_pattern_problem
from gatekeeper.policy.registry import FORMAT_NAMES  # the one format registry (re-exported)
from gatekeeper.tomlcheck import Locator as _Locator
from gatekeeper.tomlcheck import Reader as _Reader

ENV_CONFIG = "GATEKEEPER_CONFIG"
DEFAULT_PUSHER_ENV = ("GATEKEEPER_USER", "GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER", "REMOTE_USER")


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


@dataclass(frozen=True)
class GitConfig:
    pusher_env: tuple[str, ...] = DEFAULT_PUSHER_ENV
    max_content_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class DirectoryConfig:
    kind: str = "file"
    path: Path | None = None
    url: str = ""
    bind_dn: str = ""
    bind_password_env: str = ""
    user_base: str = ""
    user_filter: str = "(uid={username})"
    group_base: str = ""
    group_member_attr: str = "member"
    nested: bool = True
    user_attrs: dict[str, str] = field(
        default_factory=lambda: {"username": "uid", "email": "mail", "name": "cn"})
    group_name_attr: str = "cn"
    flavor: str = "openldap"
    start_tls: bool = False
    ca_file: Path | None = None
    timeout: float = 5.0


@dataclass(frozen=True)
class RolesConfig:
    auditors: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    emergency: tuple[str, ...] = ()
    emergency_review_hours: int = 72


@dataclass(frozen=True)
class RepoConfig:
    name: str
    protected: tuple[str, ...]
    path: Path | None = None  # the bare repo on this host: drift checks read approved content from it


@dataclass(frozen=True)
class DriftSource:
    """Where the live version of a repo file or folder comes from (exactly one of url/command/file)."""

    name: str
    repo: str
    path: str
    format: str
    url: str = ""
    header_env: str = ""
    command: tuple[str, ...] = ()
    file: Path | None = None


@dataclass(frozen=True)
class DriftConfig:
    interval_minutes: int = 0  # 0: not scheduled inside the service
    timeout_seconds: float = 30.0
    max_bytes: int = 20 * 1024 * 1024
    sources: tuple[DriftSource, ...] = ()


@dataclass(frozen=True)
class ApprovalRule:
    group: str
    count: int

    def to_dict(self) -> dict[str, object]:
        return {"group": self.group, "count": self.count}


@dataclass(frozen=True)
class Category:
    name: str
    paths: tuple[str, ...]
    approvals: tuple[ApprovalRule, ...]
    format: str | None = None
    financial: bool = False
    authors: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ("Reviewed and approved",)
    ticket: str = "optional"  # SPEC §11: "required" | "optional"
    ticket_pattern: str | None = None  # a regex the whole ticket id must match


# -- notifications and the ITSM (SPEC §11) ----------------------------------------------------------
NOTIFY_EVENTS = ("change.waiting", "change.approved", "change.rejected", "change.deployed", "emergency.opened",
                 "retro.due", "retro.overdue", "push.refused", "drift.detected", "access.review_signed",
                 "access.revocation_open")


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


@dataclass(frozen=True)
class AccessConfig:
    """``[access]`` and ``roles.access_reviewers`` (SPEC §12): the conflict matrix, dormancy, reviewers."""

    conflicts: tuple[str, ...] = DEFAULT_CONFLICTS
    dormant_days: int = DEFAULT_DORMANT_DAYS
    reviewers: tuple[str, ...] = ()  # roles.access_reviewers: groups whose members run access reviews
    daily_snapshot: bool = True  # the service logs ``access.snapshot`` once a UTC day


@dataclass(frozen=True)
class Config:
    path: Path
    raw: bytes
    service: ServiceConfig
    git: GitConfig
    directory: DirectoryConfig
    roles: RolesConfig
    repos: tuple[RepoConfig, ...]
    categories: tuple[Category, ...]
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    itsm: ItsmConfig | None = None
    drift: DriftConfig = field(default_factory=DriftConfig)
    access: AccessConfig = field(default_factory=AccessConfig)

    @property
    def sha256(self) -> str:
        """Hash of the policy file byte for byte; logged as ``config.loaded`` when it changes."""
        import hashlib  # not at module level: the hook imports this module on every push

        return hashlib.sha256(self.raw).hexdigest()

    def repo(self, name: str) -> RepoConfig | None:
        return next((r for r in self.repos if r.name == name), None)

    def category(self, name: str) -> Category | None:
        return next((c for c in self.categories if c.name == name), None)

    def secret(self, env_name: str, what: str) -> str:
        """Read a secret from the environment; missing or empty is a config error (fail closed)."""
        value = os.environ.get(env_name, "")
        if not value:
            raise ConfigError(f"{what}: environment variable {env_name} is not set", file=str(self.path))
        return value



def resolve_path(base: Path, value: str) -> Path:
    """Relative paths in the config are relative to the config file's folder (SPEC §4)."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def resolve_database_url(base: Path, url: str) -> str:
    """``sqlite:///rel.db`` is relative to the config's folder; ``sqlite:////abs.db`` is absolute."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(resolve_path(base, url[len(prefix):]).resolve())
    return url


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config`` wins, then ``GATEKEEPER_CONFIG``, then ``config/gatekeeper.toml`` here."""
    value = explicit or os.environ.get(ENV_CONFIG) or "config/gatekeeper.toml"
    return Path(value)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    cfg_path = find_config_path(path)
    try:
        raw = cfg_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read configuration: {exc.strerror} (give the policy file with --config FILE "
                          f"or {ENV_CONFIG})", file=str(cfg_path)) from exc
    return parse(raw, cfg_path)


def parse(raw: bytes, path: Path) -> Config:
    file = str(path)
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", file=file) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=file) from exc
    loc = _Locator(text)
    base = path.resolve().parent
    root = _Reader(data, "", 0, file, loc, label="")
    service = _service(_table(root, "service"), base)
    git = _git(_table(root, "git"))
    directory = _directory(_table(root, "directory"), base)
    roles_table = _table(root, "roles")
    access = _access(_table(root, "access"), roles_table)
    roles = _roles(roles_table)
    repos = tuple(_repo(r, base) for r in _tables(root, "repos"))
    categories = tuple(_category(c) for c in _tables(root, "categories"))
    notify = _notify(root, base) if "notify" in data else NotifyConfig()
    itsm = _itsm(_table(root, "itsm")) if "itsm" in data else None
    drift = _drift(_table(root, "drift"), base, {r.name for r in repos})
    root.finish()
    _check_whole(repos, categories, root)
    return Config(path=path.resolve(), raw=raw, service=service, git=git, directory=directory,
                  roles=roles, repos=repos, categories=categories, notify=notify, itsm=itsm, drift=drift,
                  access=access)


def _table(root: _Reader, name: str) -> _Reader:
    value = root.get(name, dict, {})
    return _Reader(value, name, 0, root.file, root.loc)


def _tables(root: _Reader, name: str) -> list[_Reader]:
    value = root.get(name, list, [])
    readers = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise root.fail(name, f"must be an array of tables ([[{name}]])")
        readers.append(_Reader(item, name, i, root.file, root.loc, label=f"{name}[{i}]"))
    return readers


def _env_name(r: _Reader, key: str, default: str) -> str:
    value: str = r.get(key, str, default)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise r.fail(key, "must name an environment variable (letters, digits, _)")
    return value


def _optional_path(r: _Reader, base: Path, key: str) -> Path | None:
    value: str | None = r.get(key, str, None)
    if value is not None and not value.strip():
        raise r.fail(key, "must be a file path")
    return resolve_path(base, value) if value else None


LANGUAGES = ("en", "nl", "de")  # the catalogues shipped in gatekeeper/web/translations


def _languages(r: _Reader, d: ServiceConfig) -> dict[str, Any]:
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


def _service(r: _Reader, base: Path) -> ServiceConfig:
    d = ServiceConfig()
    url = r.get("url", str, d.url).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise r.fail("url", "must start with http:// or https://")
    database = r.get("database", str, d.database)
    if not database.startswith(("sqlite:", "postgresql")):
        raise r.fail("database", "must be a sqlite:/// or postgresql+psycopg:// URL")
    svc = ServiceConfig(
        url=url,
        database=resolve_database_url(base, database),
        secret_key_env=_env_name(r, "secret_key_env", d.secret_key_env),
        hook_token_env=_env_name(r, "hook_token_env", d.hook_token_env),
        hook_token_file=_optional_path(r, base, "hook_token_file"),
        signing_key=resolve_path(base, r.get("signing_key", str, str(d.signing_key))),
        fail_open=r.get("fail_open", bool, d.fail_open),
        checkpoint_every=r.get("checkpoint_every", int, d.checkpoint_every),
        session_idle_minutes=r.get("session_idle_minutes", int, d.session_idle_minutes),
        trusted_proxies=r.get("trusted_proxies", int, d.trusted_proxies),
        session_absolute_hours=r.get("session_absolute_hours", int, d.session_absolute_hours),
        rate_limit_api=r.get("rate_limit_api", int, d.rate_limit_api),
        rate_limit_login=r.get("rate_limit_login", int, d.rate_limit_login),
        **_languages(r, d),
    )
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


def _git(r: _Reader) -> GitConfig:
    g = GitConfig(
        pusher_env=r.strings("pusher_env", DEFAULT_PUSHER_ENV),
        max_content_bytes=r.get("max_content_bytes", int, GitConfig.max_content_bytes),
    )
    r.finish()
    return g


def _directory(r: _Reader, base: Path) -> DirectoryConfig:
    d = DirectoryConfig()
    kind = r.get("kind", str, "file")
    if kind not in ("file", "ldap"):
        raise r.fail("kind", 'must be "file" or "ldap"')
    path = r.get("path", str, "directory.toml" if kind == "file" else None)
    user_attrs = r.get("user_attrs", dict, None)
    if user_attrs is not None:
        unknown = set(user_attrs) - {"username", "email", "name"}
        if unknown or not all(isinstance(v, str) for v in user_attrs.values()):
            raise r.fail("user_attrs", "takes string values for username, email and name only")
        user_attrs = {**d.user_attrs, **user_attrs}
    flavor = r.get("flavor", str, d.flavor)
    if flavor not in ("openldap", "active-directory"):
        raise r.fail("flavor", 'must be "openldap" or "active-directory"')
    ca_file = r.get("ca_file", str, None)
    dc = DirectoryConfig(
        kind=kind,
        path=resolve_path(base, path) if path else None,
        url=r.get("url", str, d.url),
        bind_dn=r.get("bind_dn", str, d.bind_dn),
        bind_password_env=_env_name(r, "bind_password_env", "GATEKEEPER_LDAP_PASSWORD"),
        user_base=r.get("user_base", str, d.user_base),
        user_filter=r.get("user_filter", str, d.user_filter),
        group_base=r.get("group_base", str, d.group_base),
        group_member_attr=r.get("group_member_attr", str, d.group_member_attr),
        nested=r.get("nested", bool, d.nested),
        user_attrs=user_attrs or d.user_attrs,
        group_name_attr=r.get("group_name_attr", str, d.group_name_attr),
        flavor=flavor,
        start_tls=r.get("start_tls", bool, d.start_tls),
        ca_file=resolve_path(base, ca_file) if ca_file else None,
        timeout=float(r.get("timeout", (int, float), d.timeout)),
    )
    if kind == "ldap":
        for key in ("url", "user_base", "group_base"):
            if not getattr(dc, key):
                raise r.fail(key, 'is required when kind = "ldap"')
        if not dc.url.startswith(("ldap://", "ldaps://")):
            raise r.fail("url", "must start with ldap:// or ldaps://")
        if "{username}" not in dc.user_filter:
            raise r.fail("user_filter", "must contain {username}")
    r.finish()
    return dc


def _roles(r: _Reader) -> RolesConfig:
    roles = RolesConfig(
        auditors=r.strings("auditors"),
        admins=r.strings("admins"),
        emergency=r.strings("emergency"),
        emergency_review_hours=r.get("emergency_review_hours", int, 72),
    )
    if roles.emergency_review_hours <= 0:
        raise r.fail("emergency_review_hours", "must be a positive number of hours")
    r.finish()
    return roles


def _access(r: _Reader, roles: _Reader) -> AccessConfig:
    """``[access]`` (``conflicts``, ``dormant_days``, ``daily_snapshot``) and ``roles.access_reviewers``."""
    codes = r.strings("conflicts", DEFAULT_CONFLICTS)
    seen: set[frozenset[str]] = set()
    for code in codes:
        if problem := conflict_problem(code):
            raise r.fail("conflicts", problem)
        pair = frozenset(conflict_pair(code))
        if pair in seen:
            raise r.fail("conflicts", f"{code!r} is listed twice (the order of the two rights does not matter)")
        seen.add(pair)
    days = r.get("dormant_days", int, AccessConfig.dormant_days)
    if days < 1:
        raise r.fail("dormant_days", "must be a positive number of days")
    cfg = AccessConfig(conflicts=codes, dormant_days=days, reviewers=roles.strings("access_reviewers"),
                       daily_snapshot=r.get("daily_snapshot", bool, True))
    r.finish()
    return cfg


def _repo(r: _Reader, base: Path) -> RepoConfig:
    name = r.get("name", str, required=True)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-/]*", name):
        raise r.fail("name", "may hold letters, digits, '.', '_', '-' and '/' only")
    protected = r.strings("protected", required=True)
    if not protected:
        raise r.fail("protected", "must name at least one branch or pattern")
    for pattern in protected:  # fail closed: a pattern that cannot be read would protect nothing
        if problem := branch_pattern_problem(pattern):
            raise r.fail("protected", problem)
    path = r.get("path", str, None)
    r.finish()
    return RepoConfig(name=name, protected=tuple(branch_pattern(p) for p in protected),
                      path=resolve_path(base, path) if path else None)


def _drift(r: _Reader, base: Path, repos: set[str]) -> DriftConfig:
    """``[drift]`` and ``[[drift.sources]]`` (SPEC §11)."""
    d = DriftConfig()
    interval = r.get("interval_minutes", int, d.interval_minutes)
    if interval < 0:
        raise r.fail("interval_minutes", "must be 0 (not scheduled) or a positive number of minutes")
    timeout = float(r.get("timeout_seconds", (int, float), d.timeout_seconds))
    if not 0 < timeout <= 3600:
        raise r.fail("timeout_seconds", "must be between 0 and 3600 seconds")
    max_bytes = r.get("max_bytes", int, d.max_bytes)
    if max_bytes <= 0:
        raise r.fail("max_bytes", "must be a positive number of bytes")
    raw = r.get("sources", list, [])
    sources: list[DriftSource] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise r.fail("sources", "must be an array of tables ([[drift.sources]])")
        sources.append(_drift_source(_Reader(item, "drift.sources", i, r.file, r.loc,
                                             label=f"drift.sources[{i}]"), base, repos))
    names = [s.name for s in sources]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError("drift source defined twice", file=r.file, key=f"drift.sources[{name}].name",
                              line=r.loc.line("drift.sources", i, "name"))
    r.finish()
    return DriftConfig(interval_minutes=interval, timeout_seconds=timeout, max_bytes=max_bytes,
                       sources=tuple(sources))


def _drift_source(r: _Reader, base: Path, repos: set[str]) -> DriftSource:
    name = r.get("name", str, required=True)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]*", name):
        raise r.fail("name", "may hold letters, digits, '.', '_' and '-' only")
    r.label = f"drift.sources[{name}]"
    repo = r.get("repo", str, required=True)
    if repo not in repos:
        raise r.fail("repo", f"names no [[repos]] entry ({', '.join(sorted(repos))})")
    path = r.get("path", str, required=True).strip("/")
    if not path or any(part in ("", ".", "..") for part in path.split("/")):
        raise r.fail("path", "must be a file or folder path inside the repo (no '..', not empty)")
    fmt = r.get("format", str, required=True)
    if fmt not in FORMAT_NAMES:
        raise r.fail("format", f"unknown format {fmt!r} (known: {', '.join(FORMAT_NAMES)})")
    url = r.get("url", str, "")
    command = r.get("command", list, None)
    file = r.get("file", str, None)
    given = [key for key, value in (("url", url), ("command", command), ("file", file)) if value]
    if len(given) != 1:
        raise r.fail(None, "needs exactly one of url, command or file" + (f" (found {', '.join(given)})"
                                                                          if given else ""))
    if url and not url.lower().startswith(("http://", "https://")):
        raise r.fail("url", "must start with http:// or https://")
    if url and "@" in url.split("/", 3)[2]:
        raise r.fail("url", "must not hold credentials (user:password@): put the whole header in the variable "
                            "named by header_env")
    header_env = _env_name(r, "header_env", "") if "header_env" in r.data else ""
    if header_env and not url:
        raise r.fail("header_env", "is only for url sources")
    if command is not None and (not command or not all(isinstance(a, str) and a for a in command)):
        raise r.fail("command", "must be a non-empty list of strings (the program and its arguments, no shell)")
    source = DriftSource(name=name, repo=repo, path=path, format=fmt, url=url, header_env=header_env,
                         command=tuple(command or ()),
                         file=Path(os.path.normpath(resolve_path(base, file))) if file else None)
    r.finish()
    return source


def _category(r: _Reader) -> Category:
    name = r.get("name", str, required=True)
    r.label = f"categories[{name}]"
    paths = r.strings("paths", (), required=name != "default")
    for pattern in paths:
        if problem := path_pattern_problem(pattern):
            raise r.fail("paths", problem)
    if "approvals" not in r.data:
        # Fail closed: only an explicit ``approvals = []`` means "no approval needed".
        raise r.fail("approvals", "is required (write approvals = [] for no approval)")
    rules_raw = r.get("approvals", list)
    rules: dict[str, int] = {}
    for i, rule in enumerate(rules_raw):
        if not isinstance(rule, dict) or set(rule) - {"group", "count"} or not isinstance(rule.get("group"), str):
            raise r.fail("approvals", f"rule {i + 1} must be {{ group = \"...\", count = N }}")
        count = rule.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise r.fail("approvals", f"rule {i + 1}: count must be a positive integer")
        rules[rule["group"]] = max(count, rules.get(rule["group"], 0))
    fmt = r.get("format", str, None)
    if fmt is not None and fmt not in FORMAT_NAMES:
        raise r.fail("format", f"unknown format {fmt!r} (known: {', '.join(FORMAT_NAMES)})")
    meanings = r.strings("meanings", Category.meanings)
    if not meanings:
        raise r.fail("meanings", "must list at least one signature meaning")
    ticket = r.get("ticket", str, "optional")
    if ticket not in ("required", "optional"):
        raise r.fail("ticket", 'must be "required" or "optional"')
    pattern = r.get("ticket_pattern", str, None)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise r.fail("ticket_pattern", f"is not a valid regular expression: {exc}") from exc
    cat = Category(
        name=name, paths=paths, approvals=tuple(ApprovalRule(g, c) for g, c in rules.items()),
        format=fmt, financial=r.get("financial", bool, False), authors=r.strings("authors"),
        meanings=meanings, ticket=ticket, ticket_pattern=pattern,
    )
    r.finish()
    return cat


def _no_clear_secrets(r: _Reader) -> None:
    """Report a secret written in clear before anything else about the table (it is the worse mistake)."""
    for key in r.data:
        if not key.endswith("_env") and any(w in key for w in ("password", "secret", "token", "private_key")):
            raise r.fail(key, f"secrets are never written in the file: use {key}_env naming an environment variable")


def _notify(root: _Reader, base: Path) -> NotifyConfig:
    """``[notify]``, ``[notify.smtp]``, ``[[notify.webhooks]]`` (SPEC §11)."""
    r = _table(root, "notify")
    d = NotifyConfig()
    smtp = None
    if "smtp" in r.data:
        s = _Reader(r.get("smtp", dict), "notify.smtp", 0, root.file, root.loc)
        _no_clear_secrets(s)
        security = s.get("security", str, "starttls")
        if security not in ("starttls", "ssl", "none"):
            raise s.fail("security", 'must be "starttls", "ssl" or "none"')
        smtp = SmtpConfig(
            host=s.get("host", str, required=True),
            port=s.get("port", int, 465 if security == "ssl" else (587 if security == "starttls" else 25)),
            security=security, username=s.get("username", str, ""),
            password_env=_env_name(s, "password_env", "") if "password_env" in s.data else "",
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
        hooks.append(_webhook(_Reader(item, "notify.webhooks", i, root.file, root.loc, label=f"notify.webhooks[{i}]")))
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


def _webhook(r: _Reader) -> WebhookConfig:
    name = r.get("name", str, required=True)
    r.label = f"notify.webhooks[{name}]"
    _no_clear_secrets(r)
    url = r.get("url", str, required=True)
    if not url.startswith(("http://", "https://")):
        raise r.fail("url", "must start with http:// or https://")
    kind = r.get("kind", str, "standard")
    if kind not in ("standard", "teams", "slack"):
        raise r.fail("kind", 'must be "standard", "teams" or "slack"')
    events = r.strings("events", ("*",))
    unknown = [e for e in events if e != "*" and e not in NOTIFY_EVENTS]
    if unknown or not events:
        raise r.fail("events", f"unknown event {unknown[0]!r} (known: {', '.join(NOTIFY_EVENTS)}, or \"*\")"
                     if unknown else "must name at least one event")
    secret_env = _env_name(r, "secret_env", "") if "secret_env" in r.data else ""
    if kind == "standard" and not secret_env:
        raise r.fail("secret_env", 'is required for kind = "standard" (the Standard Webhooks signing secret)')
    hook = WebhookConfig(name=name, url=url, kind=kind, events=events, repos=r.strings("repos"), secret_env=secret_env)
    r.finish()
    return hook


def _itsm(r: _Reader) -> ItsmConfig:
    _no_clear_secrets(r)
    kind = r.get("kind", str, required=True)
    if kind not in ("servicenow", "jira"):
        raise r.fail("kind", 'must be "servicenow" or "jira"')
    url = r.get("url", str, required=True).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise r.fail("url", "must start with http:// or https://")
    cfg = ItsmConfig(
        kind=kind, url=url, username=r.get("username", str, ""),
        password_env=_env_name(r, "password_env", "") if "password_env" in r.data else "",
        token_env=_env_name(r, "token_env", "") if "token_env" in r.data else "",
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


def _check_whole(repos: tuple[RepoConfig, ...], cats: tuple[Category, ...], root: _Reader) -> None:
    if not repos:
        raise root.fail("repos", "at least one [[repos]] table is required")
    names = [c.name for c in cats]
    if "default" not in names:
        raise root.fail("categories", 'a category named "default" is required (files matching no '
                                      "other category get its rules)")
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError("category defined twice", file=root.file, key=f"categories[{n}].name",
                              line=root.loc.line("categories", i, "name"))
    repo_names = [r.name for r in repos]
    for i, n in enumerate(repo_names):
        if n in repo_names[:i]:
            raise ConfigError("repo defined twice", file=root.file, key="repos.name",
                              line=root.loc.line("repos", i, "name"))


def check_groups(config: Config, known: set[str] | None = None, exists: Any = None) -> None:
    """Every group the policy names must exist in the directory (typos would silently block)."""
    locator = _Locator(config.raw.decode("utf-8"))
    for i, cat in enumerate(config.categories):
        for rule in cat.approvals:
            _check_group(config, locator, "categories", i, "approvals", f"categories[{cat.name}].approvals",
                         rule.group, known, exists)
        for g in cat.authors:
            _check_group(config, locator, "categories", i, "authors", f"categories[{cat.name}].authors",
                         g, known, exists)
    for role in ("auditors", "admins", "emergency"):
        for g in getattr(config.roles, role):
            _check_group(config, locator, "roles", 0, role, f"roles.{role}", g, known, exists)
    for g in config.access.reviewers:
        _check_group(config, locator, "roles", 0, "access_reviewers", "roles.access_reviewers", g, known, exists)


def _check_group(config: Config, loc: _Locator, table: str, index: int, key: str, label: str, group: str,
                 known: set[str] | None, exists: Any) -> None:
    ok = (group in known) if known is not None else bool(exists(group))
    if not ok:
        raise ConfigError(f"group {group!r} is not known to the directory", file=str(config.path),
                          key=label, line=loc.line(table, index, key))
