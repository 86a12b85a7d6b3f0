"""``gatekeeper.toml`` → one frozen, validated ``Config`` (SPEC §4): every table read by its own module.

Standard library only (the hook falls back to this loader when its baked view is stale). Unknown
keys, wrong types and clear secrets are errors naming the file, the key and the line.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper.config.access import AccessConfig, read_access
from gatekeeper.config.directory import DirectoryConfig, read_directory
from gatekeeper.config.drift import DriftConfig, read_drift
from gatekeeper.config.ledger import LedgerConfig, read_ledger
from gatekeeper.config.notify import ItsmConfig, NotifyConfig, read_itsm, read_notify
from gatekeeper.config.policy import RepoConfig, check_whole, read_category, read_repo, read_roles
from gatekeeper.config.policy import check_groups as check_group_names
from gatekeeper.config.service import GitConfig, ServiceConfig, read_git, read_service
from gatekeeper.config.toml import Locator, Reader, table, tables
from gatekeeper.errors import ConfigError
from gatekeeper.policy.rules import Category, Roles

ENV_CONFIG = "GATEKEEPER_CONFIG"
DEFAULT_PATH = "config/gatekeeper.toml"


@dataclass(frozen=True)
class Config:
    path: Path
    raw: bytes
    service: ServiceConfig
    git: GitConfig
    directory: DirectoryConfig
    roles: Roles
    repos: tuple[RepoConfig, ...]
    categories: tuple[Category, ...]
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    itsm: ItsmConfig | None = None
    drift: DriftConfig = field(default_factory=DriftConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)

    @property
    def sha256(self) -> str:
        """Hash of the policy file byte for byte; logged as ``config.loaded`` when it changes."""
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


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config`` wins, then ``GATEKEEPER_CONFIG``, then ``config/gatekeeper.toml`` here."""
    value = explicit or os.environ.get(ENV_CONFIG) or DEFAULT_PATH
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
    base = path.resolve().parent
    root = Reader(data, "", 0, file, Locator(text), label="")
    service = read_service(table(root, "service"), base)
    git = read_git(table(root, "git"))
    directory = read_directory(table(root, "directory"), base)
    roles = read_roles(table(root, "roles"))
    access = read_access(table(root, "access"))
    repos = tuple(read_repo(r, base) for r in tables(root, "repos"))
    categories = tuple(read_category(c) for c in tables(root, "categories"))
    notify = read_notify(root, base) if "notify" in data else NotifyConfig()
    itsm = read_itsm(table(root, "itsm")) if "itsm" in data else None
    drift = read_drift(table(root, "drift"), base, {r.name for r in repos})
    ledger = read_ledger(table(root, "ledger"))
    root.finish()
    check_whole(repos, categories, root)
    return Config(path=path.resolve(), raw=raw, service=service, git=git, directory=directory,
                  roles=roles, repos=repos, categories=categories, notify=notify, itsm=itsm, drift=drift,
                  access=access, ledger=ledger)


def check_groups(config: Config, known: set[str] | None = None,
                 exists: Callable[[str], bool] | None = None) -> None:
    """Every group the policy names must exist in the directory: in ``known``, or as ``exists`` answers."""
    if known is not None:
        names = known
        exists = names.__contains__
    if exists is None:
        raise TypeError("check_groups needs known or exists")
    check_group_names(config.raw, str(config.path), config.categories, config.roles, exists)
