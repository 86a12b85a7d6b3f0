"""The Alembic environment (``store/migrations/env.py``) from the command line, as a developer runs
it: ``alembic -c gatekeeper/store/alembic.ini -x url=… upgrade head``, and without a URL. (Offline
``--sql`` mode is not supported: migrations inspect the live schema.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

import gatekeeper
from gatekeeper.store.schema import head_revision

INI = Path(gatekeeper.__file__).parent / "store" / "alembic.ini"


def alembic(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alembic", "-c", str(INI), *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120)


def test_upgrade_head_from_the_command_line_builds_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/gk.db"
    done = alembic("-x", f"url={url}", "upgrade", "head", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        assert {"change_log", "change_request", "notify_outbox"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_without_a_url_it_says_how_to_give_one(tmp_path: Path) -> None:
    missing = alembic("upgrade", "head", cwd=tmp_path)
    assert missing.returncode != 0
    assert "give the database URL: alembic ... -x url=" in missing.stderr
    assert not list(tmp_path.iterdir())  # nothing created
