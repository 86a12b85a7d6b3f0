"""A worker started while PostgreSQL is unreachable does not die (gunicorn would halt the instance): it
answers 503 and finishes its start (migrations, key, config.loaded) once the database is back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.plant import free_port, make_plant, password
from tests.support.postgres import PgServer, pg_database, pg_server  # noqa: F401  (fixtures)
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.postgres


def test_start_without_the_database_then_recover(tmp_path: Path, pg_server: PgServer, pg_database: str,  # noqa: F811
                                                 env: None) -> None:
    from gatekeeper.web import create_app

    cable = TcpProxy(("127.0.0.5", free_port()), [(pg_server.host, pg_server.port)])  # not started: "down"
    url = pg_server.url(pg_database).replace(f"@{pg_server.host}:{pg_server.port}/",
                                             f"@127.0.0.5:{cable.listen[1]}/")
    plant = make_plant(tmp_path / "plant", database=url)
    app = create_app(str(plant.config), overrides={"TESTING": True})
    client = app.test_client()
    try:
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["status"] == "degraded"
        api = client.get("/api/v1/log", auth=("dave", password("dave")))
        assert api.status_code == 503 and api.get_json()["error"]["code"] == "database_unavailable"
        page = client.get("/login")
        assert page.status_code == 503 and "database" in page.get_data(as_text=True)
        cable.start()
        api = client.get("/api/v1/log", auth=("dave", password("dave")))
        assert api.status_code == 200, api.get_data(as_text=True)
        kinds = [e["kind"] for e in api.get_json()["entries"]]
        assert "config.loaded" in kinds and "key.created" in kinds
        assert client.get("/healthz").status_code == 200
    finally:
        app.extensions["gatekeeper"].store.dispose()
        cable.stop()
