"""``gatekeeper db``: schema migrations (alembic, run from code; no alembic.ini needed)."""

from __future__ import annotations

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option


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
