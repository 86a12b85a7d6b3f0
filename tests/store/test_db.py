"""The database (``store.db``): write transactions commit or roll back whole, listeners are told
inside them, side writes skip listeners, a bad URL or a dead database is one clear answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from gatekeeper.errors import ConfigError
from gatekeeper.ledger.entry import Entry
from gatekeeper.ledger.events import ChangeWithdrawn, Event
from gatekeeper.store import log
from gatekeeper.store.db import Store, is_unreachable
from gatekeeper.store.tables import ChangeLog, Setting


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite here (the PostgreSQL write lock is exercised by tests/store/test_log.py and test_concurrency.py)."""
    s = Store(f"sqlite:///{tmp_path}/gatekeeper.db")
    yield s
    s.dispose()


class Recorder:
    """A listener that writes a row of its own: it exists exactly when the entry does."""

    def __init__(self) -> None:
        self.told: list[int] = []

    def appended(self, session: Session, entry: Entry, event: Event) -> None:
        self.told.append(entry.seq)
        session.add(Setting(key=f"told.{entry.seq}", value=event.KIND))


def test_listeners_are_told_in_the_entry_s_own_transaction(store: Store) -> None:
    recorder = Recorder()
    store.listen(recorder)
    with store.write() as s:
        log.append(s, ChangeWithdrawn(change_id=1), "alice")
    with pytest.raises(RuntimeError), store.write() as s:
        log.append(s, ChangeWithdrawn(change_id=2), "alice")
        raise RuntimeError("the use case failed after appending")
    with store.read() as s:
        assert [r.seq for r in s.exec(select(ChangeLog)).all()] == [1]
        assert [r.key for r in s.exec(select(Setting)).all()] == ["told.1"]  # the rolled-back one left nothing
    assert recorder.told == [1, 2]


def test_side_writes_commit_without_telling_listeners(store: Store) -> None:
    recorder = Recorder()
    store.listen(recorder)
    with store.side_write() as s:
        s.add(Setting(key="plain", value="x"))
        log.append(s, ChangeWithdrawn(change_id=1), "alice")  # not evidence: nobody is told
    assert recorder.told == []
    with store.read() as s:
        assert s.get(Setting, "plain") is not None


def test_health_and_unreachable(store: Store, tmp_path: Path) -> None:
    assert store.health() == "ok"
    folder = tmp_path / "is-a-folder"
    folder.mkdir()
    gone = Store(f"sqlite:///{folder}", create=False)  # a path SQLite cannot open
    try:
        assert gone.health().startswith("unreachable: unable to open database")
        with pytest.raises(OperationalError) as caught, gone.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert is_unreachable(caught.value)
    finally:
        gone.dispose()
    with pytest.raises(OperationalError) as bug, store.engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_unreachable(bug.value)  # a bug, not an outage: no 503
    assert not is_unreachable(ValueError("x"))


def test_the_sqlite_folder_is_made_and_a_bad_url_is_a_config_error(tmp_path: Path) -> None:
    fresh = Store(f"sqlite:///{tmp_path}/var/new/gatekeeper.db", create=False)
    try:
        assert fresh.health() == "ok" and (tmp_path / "var" / "new").is_dir()
    finally:
        fresh.dispose()
    with pytest.raises(ConfigError, match="cannot use database URL"):
        Store("nosuchdialect://x", create=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="cannot create the database folder"):
        Store(f"sqlite:///{tmp_path}/file/sub/gatekeeper.db", create=False)


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(store: Store) -> None:
    with store.read() as s:
        assert s.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
