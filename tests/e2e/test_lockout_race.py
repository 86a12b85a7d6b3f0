"""Lockout under a real race (issue 22): 50 wrong passwords at once on the approval endpoint of one
gunicorn service with 4 workers of 2 threads (SQLite). At most the threshold (5) is ever checked
against the directory, and the burst locks once, for 15 minutes (not 15 → 30 → 60); right passwords
sent in parallel are never refused for it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy

from tests.support.gunicorn import Gunicorn
from tests.support.plant import free_port, make_plant, password
from tests.support.service import service_env

pytestmark = pytest.mark.e2e


def test_fifty_parallel_wrong_passwords_on_four_workers_check_five_and_lock_once(tmp_path: Path) -> None:
    plant = make_plant(tmp_path / "plant")
    server = Gunicorn(plant.config, "127.0.0.1", free_port(), service_env(), workers=4, threads=2,
                      log=tmp_path / "gunicorn.log")
    server.start()
    try:
        with ThreadPoolExecutor(12) as pool:  # right passwords in parallel wait for each other, never refused
            statuses = list(pool.map(lambda i: requests.get(f"{server.url}/api/v1/changes", timeout=120,
                                                            auth=("carol", password("carol"))).status_code, range(12)))
        assert statuses == [200] * 12

        def guess(i: int) -> str:
            resp = requests.post(f"{server.url}/api/v1/changes/1/approvals", json={"decision": "approve"},
                                 auth=("erin", f"guess-{i}"), timeout=120)
            assert resp.status_code == 401, resp.text
            return str(resp.json()["error"]["message"])

        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(guess, range(50)))
        checked = [a for a in answers if "too many failed attempts" not in a]
        assert len(checked) == 5, answers
        right = requests.get(f"{server.url}/api/v1/changes", auth=("erin", password("erin")), timeout=30)
        assert right.status_code == 401 and "try again in 15 minutes" in right.json()["error"]["message"]
    finally:
        server.stop()
    engine = sqlalchemy.create_engine(plant.database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT payload FROM change_log WHERE kind = 'auth.locked'")).all()
    finally:
        engine.dispose()
    locks = [json.loads(r[0]) for r in rows]
    assert [(p["username"], p["lock"]["scope"], p["lock"]["seconds"]) for p in locks] == [("erin", "client", 900.0)]
