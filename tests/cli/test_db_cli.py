"""``gatekeeper db backup`` and ``log verify --database`` on a backup (issue 12, SPEC §11)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.ledger import events as ev
from gatekeeper.store import log
from gatekeeper.store.db import Store
from tests.support.plant import Plant


def run(plant: Plant, *args: str) -> int:
    return main(["--config", str(plant.config), *args])


def _append(store: Store, n: int, start: int = 0) -> None:
    for i in range(n):
        with store.write() as s:
            log.append(s, ev.ChangeOpened(change_id=start + i), "alice")


def test_online_backup_while_writing_then_verify_and_warn_when_stale(
        plant: Plant, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(plant, "keys", "generate") == 0
    store = Store(plant.database)
    _append(store, 50)
    writer = threading.Thread(target=_append, args=(store, 200, 50))
    writer.start()  # the service keeps writing while the backup runs
    backup = tmp_path / "backup.db"
    try:
        assert run(plant, "db", "backup", str(backup)) == 0
    finally:
        writer.join()
    out = capsys.readouterr().out
    assert f"to {backup}" in out and "log verify --database" in out
    assert run(plant, "log", "verify", "--database", str(backup)) == 0  # a consistent snapshot verifies
    assert "log intact" in capsys.readouterr().out
    # later: more entries and a signed checkpoint the backup does not contain
    _append(store, 5, 250)
    store.dispose()
    assert run(plant, "log", "checkpoint", "-o", str(tmp_path / "cp.json")) == 0
    capsys.readouterr()
    assert run(plant, "log", "verify", "--database", str(backup), "--checkpoint", str(tmp_path / "cp.json")) == 0
    err = capsys.readouterr().err
    assert "warning: this backup ends at seq" in err and "before the last signed checkpoint" in err
    # the live database with the same checkpoint verifies without a warning
    assert run(plant, "log", "verify", "--checkpoint", str(tmp_path / "cp.json")) == 0
    assert "warning" not in capsys.readouterr().err
    # refuses to overwrite; --force does
    assert run(plant, "db", "backup", str(backup)) == 2
    assert "exists" in capsys.readouterr().err
    assert run(plant, "db", "backup", str(backup), "--force") == 0
    assert not list(tmp_path.glob(".*partial"))


def test_backup_of_postgresql_prints_pg_dump_and_how_to_check(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.plant import make_plant

    plant = make_plant(tmp_path / "pg", database="postgresql+psycopg://gk:s3cret@db.plant:5433/gatekeeper")
    assert run(plant, "db", "backup", "/srv/backup/gk.dump") == 0
    out = capsys.readouterr().out
    assert "pg_dump --format=custom --file=/srv/backup/gk.dump postgresql://gk@db.plant:5433/gatekeeper" in out
    assert "s3cret" not in out and "log verify --database" in out


def test_verify_database_that_is_no_file_is_unusable_input(plant: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(plant, "log", "verify", "--database", "/nonexistent/x.db") == 2
    assert "no such database file" in capsys.readouterr().err
