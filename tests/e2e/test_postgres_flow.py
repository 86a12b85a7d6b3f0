"""The whole flow with the service on PostgreSQL 15 (issue 4: same code path as SQLite), the log's
triggers refusing a DBA-style edit, and `log verify` against the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from tests.support.git import Repo, gatekeeper, make_repo
from tests.support.plant import Plant, make_plant
from tests.support.postgres import pg_database, pg_server, pg_url  # noqa: F401  (fixtures)
from tests.support.service import Service, running

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def pg_plant(tmp_path: Path, pg_url: str) -> Plant:  # noqa: F811
    return make_plant(tmp_path / "plant", database=pg_url)


@pytest.fixture
def pg_service(pg_plant: Plant) -> Iterator[Service]:
    with running(pg_plant) as svc:
        yield svc


def test_push_approve_deploy_on_postgres(pg_plant: Plant, pg_service: Service) -> None:
    repo: Repo = make_repo(pg_plant)
    repo.checkout("topic", create=True)
    repo.commit({"erp/postings.txt": "FT-204 L\n", "docs/readme.md": "# plant\n"}, "first")
    cid = repo.push("HEAD:refs/heads/topic").change_id()
    assert not repo.push("HEAD:refs/heads/main").ok
    for user in ("bob", "carol"):
        assert pg_service.sign(cid, user).status_code == 201
    r = repo.push("HEAD:refs/heads/main")
    assert r.ok, r.stderr
    assert pg_service.get(f"/api/v1/changes/{cid}", "dave").json()["state"] == "deployed"
    proc = gatekeeper(pg_plant, "log", "verify")
    assert proc.returncode == 0, proc.stderr

    engine = sqlalchemy.create_engine(pg_plant.database)
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("UPDATE change_log SET actor = 'mallory' WHERE seq = 2")
    with engine.begin() as conn:  # a DBA drops the triggers and edits a row: verify names the seq
        conn.exec_driver_sql("ALTER TABLE change_log DISABLE TRIGGER USER")
        conn.exec_driver_sql("UPDATE change_log SET actor = 'mallory' WHERE seq = 3")
    engine.dispose()
    proc = gatekeeper(pg_plant, "log", "verify")
    assert proc.returncode == 1
    assert proc.stderr.startswith("gatekeeper: log verify: FAILED at seq 3:")


def test_metrics_and_a_pack_that_verifies_without_gatekeeper_on_postgres(pg_plant: Plant, pg_service: Service,
                                                                         tmp_path: Path) -> None:
    """The register read model on PostgreSQL: the metrics API, and an evidence pack whose verify.py passes
    in a bare Python (issue 16)."""
    import io
    import json
    import os
    import subprocess
    import sys
    import zipfile

    repo: Repo = make_repo(pg_plant)
    repo.checkout("topic", create=True)
    repo.commit({"erp/postings.txt": "FT-204 L\n"}, "first")
    cid = repo.push("HEAD:refs/heads/topic").change_id()
    assert not repo.push("HEAD:refs/heads/main").ok
    for user in ("bob", "carol"):
        assert pg_service.sign(cid, user).status_code == 201
    assert repo.push("HEAD:refs/heads/main").ok
    period = "from=2000-01-01&to=2999-12-31"
    m = pg_service.get(f"/api/v1/audit/metrics?{period}", "dave").json()
    assert (m["requested"], m["approved"], m["deployed"], m["refused_pushes"]) == (1, 1, 1, 1)
    assert m["deployed_with_complete_approvals"] == 1 and m["approval_lead_time_hours"]["count"] == 1
    resp = pg_service.get(f"/api/v1/audit/evidence?{period}", "dave")
    assert resp.status_code == 200
    zipfile.ZipFile(io.BytesIO(resp.content)).extractall(tmp_path / "pack")
    key_id = json.loads((tmp_path / "pack" / "checkpoint.json").read_text())["key_id"]
    proc = subprocess.run([sys.executable, "-I", "verify.py", "--key-id", key_id], cwd=tmp_path / "pack",
                          capture_output=True, text=True, env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": ""},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "OK register.csv: 1 rows, every change the log records for the period" in proc.stdout
