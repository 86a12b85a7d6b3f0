"""Shared state across workers (issue 12): server-side sessions, lockout counters and rate limits in the
database. Two app instances on one database stand for two workers (or hosts); the real multi-process
run is tests/e2e/test_scale.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlmodel import select

from gatekeeper.clock import fixed
from gatekeeper.store.tables import ChangeLog, WebSession
from tests.support.plant import Plant, password
from tests.web.conftest import login


@pytest.fixture
def second(plant: Plant, env: None) -> Iterator[Flask]:
    """Another worker: its own app, engine and process-level state, the same database."""
    from gatekeeper.web import create_app

    other = create_app(str(plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield other
    other.extensions["gatekeeper"].store.dispose()


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _locked_entries(app: Flask) -> list[dict[str, object]]:
    with app.extensions["gatekeeper"].store.read() as s:
        rows = s.exec(select(ChangeLog).where(ChangeLog.kind == "auth.locked")).all()
    return [json.loads(r.payload) for r in rows]


def test_a_cookie_copied_before_sign_out_is_dead_on_every_worker(app: Flask, second: Flask) -> None:
    a, b = app.test_client(), second.test_client()
    login(a, "carol")
    stolen = _cookie(a)
    b.set_cookie("session", stolen)
    assert b.get("/").status_code == 200  # the same session works on the other worker
    assert a.post("/logout").status_code == 302
    thief = second.test_client()
    thief.set_cookie("session", stolen)
    resp = thief.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_the_session_id_is_rotated_at_sign_in(app: Flask) -> None:
    client = app.test_client()
    login(client, "carol")
    with client.session_transaction() as sess:
        first = sess["sid"]
    login(client, "carol")
    with client.session_transaction() as sess:
        assert sess["sid"] != first
    with app.extensions["gatekeeper"].store.read() as s:
        rows = s.exec(select(WebSession).where(WebSession.username == "carol")).all()
    assert sorted(r.revoked_at is None for r in rows) == [False, True]  # the old one is revoked


def test_absolute_timeout_holds_even_when_active(app: Flask, second: Flask) -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    app.extensions["gatekeeper"].clock = second.extensions["gatekeeper"].clock = fixed(now)
    client = app.test_client()
    login(client, "carol")
    with app.extensions["gatekeeper"].store.side_write() as s:  # signed in 13 hours ago, active just now
        s.execute(update(WebSession).values(created_at=now.timestamp() - 13 * 3600))  # default: 12 hours
    other = second.test_client()
    other.set_cookie("session", _cookie(client))
    resp = other.get("/changes")
    assert resp.status_code == 302
    assert "maximum length (12 hours)" in other.get(resp.headers["Location"]).get_data(as_text=True)


def test_admin_signs_a_user_out_everywhere_by_page_and_api(app: Flask, second: Flask) -> None:
    carol1, carol2 = app.test_client(), second.test_client()
    login(carol1, "carol")
    login(carol2, "carol")
    admin = app.test_client()
    login(admin, "frank")
    page = admin.get("/admin/sessions").get_data(as_text=True)
    assert "carol" in page and "Sign out everywhere" in page
    ask = admin.post("/admin/sessions", data={"username": "CAROL"})  # step one: asks to confirm, does nothing
    assert ask.status_code == 200 and "Sign Carol Lead out everywhere?" in ask.get_data(as_text=True)
    assert "Carol Lead (carol) has 2 open sessions" in ask.get_data(as_text=True)
    assert carol1.get("/").status_code == 200
    assert admin.post("/admin/sessions", data={"username": "carol", "confirm": "yes"}).status_code == 302
    assert carol1.get("/").status_code == 302 and carol2.get("/").status_code == 302
    entries = _locked_or_revoked(app, "session.revoked")
    assert entries[-1] == {"username": "carol", "sessions": 2, "via": "page"}
    # the API, for admins only
    login(carol1, "carol")
    api = app.test_client()
    refused = api.post("/api/v1/sessions/revoke", json={"username": "carol"},
                       auth=("carol", password("carol")))
    assert refused.status_code == 403
    ok = api.post("/api/v1/sessions/revoke", json={"username": "carol"}, auth=("frank", password("frank")))
    assert ok.status_code == 200 and ok.get_json() == {"username": "carol", "revoked": 1}
    assert carol1.get("/").status_code == 302
    assert app.test_client().get("/admin/sessions").status_code == 302  # signed out: to the login page
    carol = app.test_client()
    login(carol, "carol")
    assert carol.get("/admin/sessions").status_code == 403


def _locked_or_revoked(app: Flask, kind: str) -> list[dict[str, object]]:
    with app.extensions["gatekeeper"].store.read() as s:
        rows = s.exec(select(ChangeLog).where(ChangeLog.kind == kind).order_by(ChangeLog.seq)).all()  # type: ignore[arg-type]
    return [json.loads(r.payload) for r in rows]


def test_lockout_counts_across_workers_and_spellings_and_logs_one_lock(app: Flask, second: Flask) -> None:
    workers = [app.test_client(), second.test_client()]
    for i, spelling in enumerate(["carol", "CAROL", "ｃａｒｏｌ", " Carol", "carol"]):
        resp = login(workers[i % 2], spelling, "wrong")
        assert resp.status_code == 401  # type: ignore[attr-defined]
    for client in workers:  # locked on both workers, even with the right password
        resp = login(client, "carol")
        assert resp.status_code == 401 and "too many failed attempts" in resp.get_data(as_text=True)  # type: ignore[attr-defined]
    basic = workers[1].get("/api/v1/changes", auth=("Carol", password("carol")))
    assert basic.status_code == 401 and "too many failed attempts" in basic.get_json()["error"]["message"]
    locks = _locked_entries(app)
    assert len(locks) == 1 and locks[0]["username"] == "carol" and locks[0]["lock"]["scope"] == "client"  # type: ignore[index]
    # an unknown name is counted and locked the same way (the answer reveals nothing)
    for i in range(5):
        login(workers[i % 2], "Nobody-Here", "x")
    assert "too many failed attempts" in login(workers[0], "nobody-here", "x").get_data(as_text=True)  # type: ignore[attr-defined]
    assert [e["username"] for e in _locked_entries(app)] == ["carol", "nobody-here"]


def test_login_rate_limit_is_shared_and_answers_429(plant: Plant, env: None) -> None:
    from gatekeeper.web import create_app

    plant.config.write_text(plant.config.read_text().replace("[service]\n", "[service]\nrate_limit_login = 3\n"
                                                             "rate_limit_api = 4\n", 1))
    apps = [create_app(str(plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False}) for _ in range(2)]
    try:
        clients = [a.test_client() for a in apps]
        for c in clients:  # an address of its own: the seed database has counted 127.0.0.1 already
            c.environ_base["REMOTE_ADDR"] = "192.0.2.77"
        statuses = [login(clients[i % 2], "dave").status_code for i in range(4)]  # type: ignore[attr-defined]
        assert statuses == [302, 302, 302, 429]
        api = [clients[i % 2].get("/api/v1/log?limit=1", auth=("dave", password("dave"))) for i in range(5)]
        assert [r.status_code for r in api] == [200, 200, 200, 200, 429]
        assert int(api[-1].headers["Retry-After"]) >= 1 and api[-1].get_json()["error"]["code"] == "rate_limited"
        assert clients[0].get("/api/v1/openapi.json").status_code == 200  # the document is exempt
    finally:
        for a in apps:
            a.extensions["gatekeeper"].store.dispose()


@pytest.mark.parametrize("path", ["/changes/9223372036854775808", "/changes/99999999999999999999",
                                  "/api/v1/changes/9223372036854775808", "/api/v1/changes/2147483648",
                                  "/log?before=99999999999999999999&change=99999999999999999999",
                                  "/changes?page=99999999999999999999"])
def test_huge_ids_are_never_a_server_error(client: FlaskClient, path: str) -> None:
    login(client, "dave")
    resp = client.get(path, auth=("dave", password("dave")))
    assert resp.status_code in (200, 302, 400, 404), resp.get_data(as_text=True)[:300]


def test_405_names_the_allowed_methods(client: FlaskClient) -> None:
    resp = client.put("/api/v1/changes")
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
    assert client.delete("/login").headers["Allow"] == "GET, HEAD, OPTIONS, POST"
