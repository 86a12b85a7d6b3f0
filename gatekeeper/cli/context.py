"""What every command shares: the config path, lazily loaded config, store and directory.

``--config`` is accepted before or after the subcommand (SPEC §10): both places write here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gatekeeper.config import Config
    from gatekeeper.directory.base import Directory
    from gatekeeper.store.db import Store


@dataclass
class AppContext:
    config_path: str | None = None
    debug: bool = False
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        if "config" not in self._cache:
            from gatekeeper import config

            self._cache["config"] = config.load(self.config_path)
        return self._cache["config"]  # type: ignore[no-any-return]

    @property
    def store(self) -> Store:
        if "store" not in self._cache:
            from gatekeeper.bootstrap import open_store

            require_database(self.config)
            self._cache["store"] = open_store(self.config)
        return self._cache["store"]  # type: ignore[no-any-return]

    @property
    def directory(self) -> Directory:
        if "directory" not in self._cache:
            from gatekeeper.directory import open_directory

            self._cache["directory"] = open_directory(self.config)
        return self._cache["directory"]  # type: ignore[no-any-return]


def _store_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value:
        ctx.ensure_object(AppContext).config_path = value
    return value


config_option = click.option(
    "--config", "config", metavar="FILE", envvar="GATEKEEPER_CONFIG", expose_value=True,
    callback=_store_config, is_eager=True,
    help="Policy file (default: $GATEKEEPER_CONFIG or config/gatekeeper.toml).",
)
sub_config_option = click.option(
    "--config", "_config", metavar="FILE", expose_value=False, callback=_store_config,
    help="Policy file (may also be given before the subcommand).",
)


def pass_app(f: Any) -> Any:
    return click.pass_obj(f)


# Commands that may bring a database into being; every other command only reads or appends to one.
CREATING = ("serve", "demo", "db", "repo", "keys", "witness")


def require_database(config: Config) -> None:
    """A read-only command (``log verify``, ``audit export``, …) on a SQLite file that does not exist is
    one clear error, not an empty database left behind and a "no such table" (issue 25)."""
    from pathlib import Path

    from gatekeeper.errors import InputError

    url = config.service.database
    if not url.startswith("sqlite:///"):
        return
    ctx = click.get_current_context(silent=True)
    words = ctx.command_path.split()[1:] if ctx is not None else []
    if not words or words[0] in CREATING:
        return
    path = Path(url[len("sqlite:///"):])
    if not path.exists():
        raise InputError(f"no database at {path} (service.database in {config.path}): nothing to read yet. "
                         "Is this the right policy file? Pass --config FILE or set GATEKEEPER_CONFIG "
                         "(for the demo: . demo-data/env.sh); a new installation starts with gatekeeper serve "
                         "or gatekeeper db upgrade")
