"""Engine, sessions and schema. Writes are serialised so the log never forks (SPEC §8).

SQLite: every write transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time, readers go
on under WAL). PostgreSQL: every write transaction first takes a transaction-level advisory lock.
Reads use plain deferred transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

from gatekeeper.errors import ConfigError
from gatekeeper.ledger.entry import Entry
from gatekeeper.ledger.events import Event
from gatekeeper.store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

# Arbitrary constant identifying Gatekeeper's writer lock among other advisory locks.
PG_WRITE_LOCK_ID = 0x6761_7465_6B65_6570 & 0x7FFF_FFFF_FFFF_FFFF
# Session.info key under which a write transaction carries the store's append listeners (store.log.append).
LISTENERS = "gatekeeper.append_listeners"
_PG_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


class AppendListener(Protocol):
    """Told of every log entry inside the transaction that appends it (``Store.listen``): what it writes
    commits with the entry or not at all. The notification outbox and automatic checkpoints are
    listeners, registered where the application is wired (``gatekeeper.bootstrap``)."""

    def appended(self, session: Session, entry: Entry, event: Event) -> None: ...


class Store:
    """One database: an engine plus read and write unit-of-work helpers."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _make_engine(url)
        self.listeners: list[AppendListener] = []
        if create:
            self.create_schema()

    def listen(self, listener: AppendListener) -> None:
        """Tell ``listener`` of every entry appended in this store's write transactions."""
        self.listeners.append(listener)

    def create_schema(self) -> None:
        """``alembic upgrade head`` (store.schema): a no-op costing one query when already current."""
        from gatekeeper.store import schema

        schema.upgrade(self)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A serialised write transaction: committed on success, rolled back on any error."""
        info = {LISTENERS: tuple(self.listeners)} if self.listeners else None
        with self._transaction(info, serialised=True) as session:
            yield session

    @contextmanager
    def side_write(self) -> Iterator[Session]:
        """A write that is not evidence (sessions, rate counters): committed on success, but not
        serialised with the log's appends on PostgreSQL, so it never waits behind a push. SQLite still
        begins it IMMEDIATE (its only safe way to write)."""
        with self._transaction(None, serialised=False) as session:
            yield session

    @contextmanager
    def _transaction(self, info: dict[str, Any] | None, *, serialised: bool) -> Iterator[Session]:
        """Committed on success, rolled back on any error; SQLite begins IMMEDIATE, PostgreSQL takes the
        write lock first when ``serialised``."""
        engine = self.engine.execution_options(gatekeeper_write=True) if self.is_sqlite else self.engine
        with Session(engine, expire_on_commit=False, info=info) as session:
            if serialised and not self.is_sqlite:
                session.connection().execute(_PG_LOCK, {"k": PG_WRITE_LOCK_ID})
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


def is_unreachable(exc: BaseException) -> bool:
    """Whether a database error means "cannot talk to the database" (down, restarting, network),
    as opposed to a bug or a constraint: those get the 503 ``database_unavailable`` answer."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or ""
    # PostgreSQL: class 08 connection exceptions, 57P0x admin/crash shutdown, cannot connect now.
    if sqlstate.startswith(("08", "57P")) or (orig is not None and sqlstate == "" and not _is_sqlite_error(orig)):
        return True
    message = str(orig or exc).lower()
    return any(s in message for s in ("unable to open database", "disk i/o error", "database is locked"))


def _is_sqlite_error(orig: BaseException) -> bool:
    return type(orig).__module__.startswith("sqlite3")


def _short(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__


def _make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            _make_parent(url)
            engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
            _sqlite_serialised_writes(engine)
            return engine
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(f"cannot use database URL: {exc}", key="service.database") from exc


def _make_parent(url: str) -> None:
    """A SQLite file's folder is created on first use (``var/`` in a fresh checkout)."""
    from pathlib import Path

    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the database folder: {exc.strerror}",
                              key="service.database") from exc


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

