"""``gatekeeper db``: schema migrations (alembic, run from code; no alembic.ini needed) and backups."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--url", envvar="GATEKEEPER_DB_OWNER_URL", metavar="URL",
              help="Connect as this URL instead of service.database, e.g. as the role owning the schema "
                   "(default: $GATEKEEPER_DB_OWNER_URL). Keep passwords in ~/.pgpass, not here.")
@sub_config_option
@pass_app
def upgrade(app: AppContext, url: str | None) -> int:
    """Apply the migrations up to the newest schema (also done when ``serve`` starts)."""
    from gatekeeper.store import schema
    from gatekeeper.store.db import Store

    store = Store(url or app.config.service.database, create=False)
    try:
        before = _current(store)
        after = schema.upgrade(store)
    finally:
        store.dispose()
    state = "already current" if before == after else f"upgraded from {before or 'an empty database'}"
    click.echo(f"gatekeeper: database schema at revision {after} ({state})")
    return 0


@db.command("grants")
@click.argument("role")
@click.option("--schema", default="public", show_default=True)
def grants(role: str, schema: str) -> int:
    """Print the SQL granting ROLE (the service's) least privilege; run it as the schema owner."""
    from gatekeeper.store.schema import service_grants

    for stmt in service_grants(role, schema):
        click.echo(stmt + ";")
    return 0


def _current(store: object) -> str | None:
    from sqlalchemy.exc import SQLAlchemyError

    from gatekeeper.store import schema

    try:
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            return schema.current_revision(conn)
    except SQLAlchemyError:
        return None


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@sub_config_option
@pass_app
def backup(app: AppContext, file: Path, force: bool) -> int:
    """Back up the database to FILE while the service runs (SQLite: the online backup API, a consistent
    snapshot; PostgreSQL: prints the pg_dump command and how to check a restore)."""
    url = app.config.service.database
    if not url.startswith("sqlite"):
        click.echo(_pg_instructions(url, file))
        return 0
    from gatekeeper.backup import sqlite_backup

    if file.exists() and not force:
        raise InputError(f"{file} exists; choose another name or pass --force")
    seq = sqlite_backup(url, file)
    click.echo(f"gatekeeper: backed up {url.split('///', 1)[-1]} to {file} (change log up to seq {seq}); check it "
               f"with: gatekeeper log verify --database {file} --git-anchor REPO (or --checkpoint FILE)")
    return 0


def _pg_instructions(url: str, file: Path) -> str:
    """PostgreSQL is backed up with its own tool; we say exactly how, and how to prove a restore."""
    from sqlalchemy.engine import URL, make_url

    u = make_url(url)
    bare = URL.create("postgresql", username=u.username, host=u.host, port=u.port, database=u.database,
                      query=u.query)  # no password: it belongs in ~/.pgpass
    conninfo = bare.render_as_string(hide_password=False)
    restored = bare.set(drivername=u.drivername, database=f"{u.database}_restored").render_as_string(False)
    return "\n".join([
        "gatekeeper: PostgreSQL is backed up with pg_dump (a consistent snapshot, online); run:",
        f"  pg_dump --format=custom --file={shlex.quote(str(file))} {shlex.quote(conninfo)}",
        "  (the password from ~/.pgpass or PGPASSWORD, never on the command line)",
        "check a backup by restoring it into a scratch database and verifying its change log:",
        f"  createdb {u.database}_restored && "
        f"pg_restore --no-owner --dbname={u.database}_restored {shlex.quote(str(file))}",
        f"  gatekeeper log verify --database '{restored}' --git-anchor REPO",
        "a warning that the backup ends before the last signed checkpoint means entries appended after the "
        "dump would be lost by restoring it.",
    ])
