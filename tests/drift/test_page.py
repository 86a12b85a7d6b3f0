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
from tests.web.test_browser import chromium  # noqa: F401 - one Chromium for the module


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


def test_check_now_is_for_admins_and_auditors_with_a_csrf_token(dp: DriftPlant, client: FlaskClient) -> None:
    """Checking reads the plant and writes the log: a POST, CSRF-protected, role-checked, logged with who."""
    from gatekeeper.web import create_app

    login(client, "alice")
    assert "Check now" not in client.get("/drift").get_data(as_text=True)
    assert client.post("/drift/check", data={"source": "ignition-gateway"}).status_code == 403
    login(client, "dave")
    dp.http.routes["/ignition/tags"] = FULL.replace(b'"value": 0,', b'"value": 7,', 1)
    resp = client.post("/drift/check", data={"source": "ignition-gateway"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("#source-ignition-gateway")
    page = client.get("/drift").get_data(as_text=True)
    assert "ignition-gateway checked now: drift" in page
    assert "<code>_types_/Status/PartCount</code>" in page and "<td><code>0</code></td>" in page
    assert "<td><code>7</code></td>" in page  # approved → live, side by side
    with dp.store.read() as s:
        from gatekeeper.store import log

        last = next(iter(log.of_kinds(s, ["drift.checked"], newest_first=True, limit=1)))
    assert last.actor == "dave" and last.payload["trigger"] == "page"
    guarded = create_app(str(dp.plant.config), overrides={"TESTING": True})  # CSRF on, as in production
    try:
        c = guarded.test_client()
        html = c.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert token
        c.post("/login", data={"username": "dave", "password": password("dave"), "csrf_token": token.group(1)})
        assert c.post("/drift/check", data={"source": "ignition-gateway"}).status_code == 400
    finally:
        guarded.extensions["gatekeeper"].store.dispose()


@pytest.mark.browser
def test_an_admin_checks_a_source_now_in_the_browser(dp: DriftPlant, chromium: object) -> None:  # noqa: F811
    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()  # type: ignore[attr-defined]
    try:
        page.goto(dp.service.url + "/login")
        page.get_by_label("Username").fill("frank")
        page.get_by_label("Password").fill(password("frank"))
        page.get_by_role("button", name="Sign in").click()
        page.goto(dp.service.url + "/drift")
        dp.http.routes["/ignition/tags"] = FULL.replace(b'"value": 0,', b'"value": 7,', 1)
        page.get_by_role("button", name="Check ignition-gateway now").click()
        page.wait_for_url("**/drift#source-ignition-gateway")
        assert "ignition-gateway checked now: drift" in page.locator(".flashes").inner_text()
        values = page.locator("table.values").first
        assert "_types_/Status/PartCount" in values.inner_text()
        cells = values.locator("tbody tr").first.locator("td").all_inner_texts()
        assert cells[:2] == ["0", "7"], cells
    finally:
        page.context.close()
