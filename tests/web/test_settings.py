"""``/settings/notifications``: each user chooses all mail, a daily digest, or only mandatory mail."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from gatekeeper.store.tables import NotifyPref
from tests.web.conftest import login


def test_choice_is_saved_per_user(app: Flask, client: FlaskClient) -> None:
    assert client.get("/settings/notifications").status_code == 302  # login first
    login(client, "alice")
    page = client.get("/settings/notifications")
    assert page.status_code == 200 and b"Every notification as it happens" in page.data
    assert b'value="all" checked' in page.data or b'checked value="all"' in page.data or b"checked" in page.data
    resp = client.post("/settings/notifications", data={"mail": "digest"})
    assert resp.status_code == 303
    resp = client.post("/settings/notifications", data={"mail": "never"})  # not a choice: refused, nothing saved
    assert resp.status_code == 400
    store = app.extensions["gatekeeper"].store
    with store.read() as s:
        pref = s.get(NotifyPref, "alice")
        assert pref is not None and pref.digest and not pref.opt_out
        assert s.get(NotifyPref, "bob") is None
    client.post("/settings/notifications", data={"mail": "mandatory"})
    with store.read() as s:
        pref = s.get(NotifyPref, "alice")
        assert pref is not None and pref.opt_out and not pref.digest


def test_the_form_needs_its_csrf_token(plant: object, env: None) -> None:
    from gatekeeper.web import create_app

    app = create_app(str(plant.config), overrides={"TESTING": True})  # type: ignore[attr-defined]
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200
    resp = client.post("/settings/notifications", data={"mail": "mandatory"})
    assert resp.status_code in (302, 400)  # no session or no token: nothing saved
    with app.extensions["gatekeeper"].store.read() as s:
        assert s.get(NotifyPref, "alice") is None
    app.extensions["gatekeeper"].store.dispose()
