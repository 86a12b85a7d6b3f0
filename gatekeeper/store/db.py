"""Engine, sessions and schema. Writes are serialised so the log never forks (SPEC §8).

SQLite: every write transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time, readers go
on under WAL). PostgreSQL: every write transaction first takes a transaction-level advisory lock.
Reads use plain deferred transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

from gatekeeper.errors import ConfigError, ServiceUnavailable
from gatekeeper.store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

# Arbitrary constant identifying Gatekeeper's writer lock among other advisory locks.
PG_WRITE_LOCK_ID = 0x6761_7465_6B65_6570 & 0x7FFF_FFFF_FFFF_FFFF

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS change_log_no_update BEFORE UPDATE ON change_log "
    "BEGIN SELECT RAISE(ABORT, 'change_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER IF NOT EXISTS change_log_no_delete BEFORE DELETE ON change_log "
    "BEGIN SELECT RAISE(ABORT, 'change_log is append-only: DELETE refused'); END",
)
_PG_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION gatekeeper_change_log_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN
         RAISE EXCEPTION 'change_log is append-only: % refused', TG_OP;
       END $$""",
    "DROP TRIGGER IF EXISTS change_log_no_update_delete ON change_log",
    """CREATE TRIGGER change_log_no_update_delete BEFORE UPDATE OR DELETE ON change_log
       FOR EACH ROW EXECUTE FUNCTION gatekeeper_change_log_append_only()""",
    "DROP TRIGGER IF EXISTS change_log_no_truncate ON change_log",
    """CREATE TRIGGER change_log_no_truncate BEFORE TRUNCATE ON change_log
       FOR EACH STATEMENT EXECUTE FUNCTION gatekeeper_change_log_append_only()""",
)


class Store:
    """One database: an engine plus read and write unit-of-work helpers."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _make_engine(url)
        if create:
            self.create_schema()

    def create_schema(self) -> None:
        try:
            SQLModel.metadata.create_all(self.engine)
            with self.engine.begin() as conn:
                for stmt in _SQLITE_TRIGGERS if self.is_sqlite else _PG_TRIGGERS:
                    conn.exec_driver_sql(stmt)
        except OperationalError as exc:
            raise ServiceUnavailable(f"database unreachable: {_short(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A serialised write transaction: committed on success, rolled back on any error."""
        engine = self.engine.execution_options(gatekeeper_write=True) if self.is_sqlite else self.engine
        with Session(engine, expire_on_commit=False) as session:
            if not self.is_sqlite:
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK_ID})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def health(self) -> str:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return f"unreachable: {_short(exc)}"
        return "ok"

    def dispose(self) -> None:
        self.engine.dispose()


def _short(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__


def _make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
            _sqlite_serialised_writes(engine)
            return engine
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(f"cannot use database URL: {exc}", key="service.database") from exc


def _sqlite_serialised_writes(engine: Engine) -> None:
    """Take over BEGIN from pysqlite so writes can say IMMEDIATE (the SQLAlchemy-documented recipe)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get("gatekeeper_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def open_store(config: Any) -> Store:
    """The store for a loaded ``Config`` (``service.database``)."""
    return Store(config.service.database)
