"""``/drift`` and the drift exceptions on ``/audit``, rendered by the real app on the plant's database;
``/drift`` on the real service needs a sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.drift.conftest import FULL, DriftPlant
from tests.support.plant import password
from tests.support.service import HOOK_TOKEN, SECRET_KEY


@pytest.fixture
def client(dp: DriftPlant, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    from gatekeeper.web import create_app

    monkeypatch.setenv("GATEKEEPER_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("GATEKEEPER_HOOK_TOKEN", HOOK_TOKEN)
    app: Flask = create_app(str(dp.plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield app.test_client()
    app.extensions["gatekeeper"].store.dispose()


def login(client: FlaskClient, user: str) -> None:
    resp = client.post("/login", data={"username": user, "password": password(user)})
    assert resp.status_code == 302


def test_drift_page_shows_each_source_its_state_and_the_diff(dp: DriftPlant, client: FlaskClient) -> None:
    dp.check()
    dp.http.routes["/ignition/tags"] = FULL.replace(b'"name": "ActiveAlarms"',
                                                    b'"name": "ActiveAlarms", "engUnit": "<script>x</script>"', 1)
    dp.check(source="ignition-gateway")
    login(client, "alice")
    page = client.get("/drift").get_data(as_text=True)
    for name in ("kepware-api", "ignition-gateway", "ignition-native", "kepware-maker", "erp-interface"):
        assert f'id="source-{name}"' in page
    assert "4 in line, 1 drift, 0 error" in page
    assert 'class="state drift-state-drift">drift</span>' in page
    assert "ignition-gateway: live vs. approved" in page
    assert "tag Exchange/NPEDemo/ActiveAlarms engUnit set to &lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x</script>" not in page
    assert f"{dp.http.url}/ignition/tags" in page


def test_drift_events_are_exceptions_on_the_audit_page(dp: DriftPlant, client: FlaskClient) -> None:
    dp.http.routes["/ignition/tags"] = FULL.replace(b'"value": 0,', b'"value": 7,', 1)
    dp.check(source="ignition-gateway")
    login(client, "dave")
    page = client.get("/audit?from=2000-01-01&to=2999-12-31").get_data(as_text=True)
    assert re.search(r"drift: [1-9]", page)  # the one exceptions list of the period (as exceptions.csv), by kind
    assert "<td>drift</td>" in page
    assert "Drift now, source by source" in page
    assert "ignition-gateway (tags/ignition/full-tag-export.json): drift detected: 1 change in " in page


def test_drift_page_needs_sign_in_on_the_real_service(dp: DriftPlant) -> None:
    resp = requests.get(dp.service.url + "/drift", allow_redirects=False, timeout=10)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")
