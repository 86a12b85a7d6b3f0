"""Schema migrations (alembic), run from code: ``gatekeeper db upgrade`` and at ``serve`` start.

No ``alembic.ini`` is needed at runtime: the script location is this package's ``migrations``
folder. An upgrade runs in one serialised transaction (SQLite ``BEGIN IMMEDIATE``, PostgreSQL an
advisory lock), so gunicorn workers starting together migrate once; the others then find the
schema current. A role that may only read and append (docs/postgresql.md) can start the service
on a current schema but gets a clear error, not a half-migrated database, when it is behind.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Protocol

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError

from gatekeeper.errors import InputError, ServiceUnavailable


class Store(Protocol):
    """What migrating needs of ``store.db.Store`` (it calls ``upgrade`` itself: no import back)."""

    @property
    def engine(self) -> Engine: ...
    @property
    def is_sqlite(self) -> bool: ...

MIGRATIONS = Path(__file__).with_name("migrations")
INITIAL_REVISION = "0001"
APPEND_ONLY = ("change_log", "change_log_ref", "merkle_node", "witness_cosignature")
# Shared runtime state, not evidence: expired counters, sessions and used sign drafts are deleted (issues 12, 25).
PRUNABLE = ("auth_counter", "rate_counter", "web_session", "sign_draft")
# Arbitrary constant naming the migration lock among other advisory locks (not the writer lock).
PG_MIGRATE_LOCK_ID = 0x6774_6B70_6D69_6772


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def is_current(store: Store) -> bool:
    """Whether the database is at the head revision (one cheap query; no lock)."""
    with store.engine.connect() as conn:
        return current_revision(conn) == head_revision()


def upgrade(store: Store, revision: str = "head") -> str:
    """Bring the schema to ``revision``; returns the revision the database is at afterwards."""
    if revision == "head" and _is_current_quietly(store):
        return head_revision()
    engine = store.engine.execution_options(gatekeeper_write=True) if store.is_sqlite else store.engine
    try:
        with engine.begin() as conn:
            if not store.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATE_LOCK_ID})
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            if current_revision(conn) is None and inspect(conn).has_table("change_log"):
                # Made by the walking skeleton's create_all: same tables as 0001, adopt them.
                command.stamp(cfg, INITIAL_REVISION)
            command.upgrade(cfg, revision)
            return current_revision(conn) or "base"
    except ProgrammingError as exc:
        raise ServiceUnavailable(
            f"cannot migrate the database schema ({_first_line(exc)}); run `gatekeeper db upgrade` "
            "as the role that owns the schema (docs/postgresql.md)") from exc
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(f"database unreachable or migration failed: {_first_line(exc)}") from exc


def downgrade(store: Store, revision: str) -> str:
    """For tests and emergencies: step the schema back (drops tables, so never on live data)."""
    engine = store.engine.execution_options(gatekeeper_write=True) if store.is_sqlite else store.engine
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        return current_revision(conn) or "base"


def service_grants(role: str, schema: str = "public") -> list[str]:
    """PostgreSQL grants for the service's role (docs/postgresql.md), run by the schema owner.

    The log tables get SELECT and INSERT only: no UPDATE, DELETE or TRUNCATE, and since the role
    owns nothing it cannot drop or disable the triggers either. Other tables get SELECT, INSERT and
    UPDATE; DELETE only on PRUNABLE (expired counters and sessions).
    Run again after every ``db upgrade`` that adds a table.
    """
    from sqlmodel import SQLModel

    from gatekeeper.store import tables  # noqa: F401  (registers the tables)

    for name in (role, schema):
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise InputError(f"{name!r}: use a lowercase SQL identifier (letters, digits, _)")
    log_tables = ", ".join(f"{schema}.{t}" for t in APPEND_ONLY)
    others = ", ".join(f"{schema}.{t}" for t in sorted(SQLModel.metadata.tables) if t not in APPEND_ONLY)
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT ON {log_tables} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON {others} TO {role}",
        f"GRANT DELETE ON {', '.join(f'{schema}.{t}' for t in PRUNABLE)} TO {role}",
        f"GRANT SELECT ON {schema}.alembic_version TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]


def _is_current_quietly(store: Store) -> bool:
    try:
        return is_current(store)
    except SQLAlchemyError:
        return False  # e.g. unreachable: upgrade() reports it


def _first_line(exc: Exception) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__
