"""Scheduled checks run once per interval across workers and hosts: the claim on SQLite and the real
PostgreSQL 15, and two real services sharing one database."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from gatekeeper.drift.schedule import claim
from gatekeeper.store.db import Store
from gatekeeper.store.tables import ChangeLog
from tests.drift.conftest import DriftPlant
from tests.support.plant import free_port
from tests.support.postgres import db_url, pg_database, pg_server, pg_url  # noqa: F401  (fixtures)
from tests.support.process import wait_until
from tests.support.service import running


@pytest.fixture
def stores(db_url: str) -> Iterator[list[Store]]:  # noqa: F811
    made = [Store(db_url) for _ in range(6)]  # one engine each: six workers
    yield made
    for store in made:
        store.dispose()


def test_one_claim_per_interval_among_concurrent_workers(stores: list[Store]) -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    won: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def worker(store: Store) -> None:
        barrier.wait()
        won.append(claim(store, 15, now))

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(won) == [False] * (len(stores) - 1) + [True]
    assert not claim(stores[0], 15, now + timedelta(minutes=14))
    assert claim(stores[1], 15, now + timedelta(minutes=15))
    assert not claim(stores[2], 15, now + timedelta(minutes=16))


def test_two_services_on_one_database_run_the_scheduled_check_once(dp: DriftPlant) -> None:
    text = dp.plant.config.read_text().replace("interval_minutes = 0", "interval_minutes = 60")
    scheduled = dp.plant.dir / "scheduled.toml"
    scheduled.write_text(text)
    with dp.store.read() as s:
        before = max([r.seq for r in s.exec(select(ChangeLog)).all()])
    plants = []
    for _ in range(2):
        port = free_port()
        cfg = dp.plant.dir / f"scheduled-{port}.toml"
        cfg.write_text(text.replace(dp.plant.url, f"http://127.0.0.1:{port}"))
        plants.append(replace(dp.plant, config=cfg, port=port, url=f"http://127.0.0.1:{port}"))
    # each service says (at debug level, switched on here) when its first round is decided: once both
    # have, a second (wrong) run can no longer show up before the next tick, half a minute away
    debug = dp.plant.dir / "debug-log"
    debug.mkdir(exist_ok=True)
    (debug / "sitecustomize.py").write_text(
        "import logging\nlogging.basicConfig(format='%(name)s %(message)s')\n"
        "logging.getLogger('gatekeeper.drift.schedule').setLevel(logging.DEBUG)\n")
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(debug), os.environ.get("PYTHONPATH", "")) if p)}
    service_log = dp.plant.dir / "service.log"
    with running(plants[0], env), running(plants[1], env):
        def decided() -> bool:
            text = service_log.read_text() if service_log.exists() else ""
            return "scheduled drift check: ran here" in text and "scheduled drift check: not run here" in text

        wait_until(decided, timeout=30, what="both services' first scheduled round")
        with dp.store.read() as s:
            rows = s.exec(select(ChangeLog).where(ChangeLog.kind == "drift.checked")).all()
        runs = [json.loads(r.payload) for r in rows if r.seq > before]
    assert sorted(str(r["source"]) for r in runs) == sorted(src.name for src in dp.cfg.drift.sources)
    assert {r["trigger"] for r in runs} == {"schedule"}
