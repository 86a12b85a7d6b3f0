"""``/access`` through the Flask test client: who may look and who may act, the downloads, a campaign
decided and signed with the password re-entered (the approvals' lockout path), and sign-ins logged."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlmodel import select

from gatekeeper.policy.access import COLUMNS
from gatekeeper.store.tables import AuthCounter, ChangeLog
from tests.support.access import make_access_plant
from tests.web.conftest import login


@pytest.fixture
def access_app(tmp_path: Path, env: None) -> Iterator[Flask]:
    from gatekeeper.web import create_app

    plant = make_access_plant(tmp_path / "plant")
    app = create_app(str(plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield app
    app.extensions["gatekeeper"].store.dispose()


def as_user(app: Flask, user: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, user).status_code == 302  # type: ignore[attr-defined]
    return client


def text(resp: object) -> str:
    return resp.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


def entries(app: Flask, kind: str) -> list[ChangeLog]:
    with app.extensions["gatekeeper"].store.read() as s:
        return list(s.exec(select(ChangeLog).where(ChangeLog.kind == kind)).all())


def test_who_may_look_and_who_may_act(access_app: Flask) -> None:
    for path in ("/access", "/access/export", "/access/reviews/1"):
        assert access_app.test_client().get(path).status_code == 302  # sign in first
    assert access_app.test_client().post("/access/reviews/1/sign").status_code == 302
    assert as_user(access_app, "alice").get("/access").status_code == 403
    page = text(as_user(access_app, "frank").get("/access"))  # an admin looks, opens nothing
    assert 'id="conflict-summary"' in page and "Open an access review" not in page
    assert "<code>emergency+author</code></dt><dd class=\"problem\">1 person</dd>" in page
    assert 'class="scroll" tabindex="0" role="region" aria-label="Table: Rights per person"' in page
    assert as_user(access_app, "frank").post("/access/reviews", data={"repo": ""}).status_code == 403
    dave = as_user(access_app, "dave")
    assert "Open an access review" in text(dave.get("/access")) and "Access</a>" in text(dave.get("/"))
    assert dave.get("/access?repo=nope").status_code == 400
    assert dave.get("/access/export?format=pdf").status_code == 400
    assert dave.get("/access/reviews/99").status_code == 404


def test_downloads_hold_the_columns_and_the_summary(access_app: Flask) -> None:
    dave = as_user(access_app, "dave")
    rows = list(csv.DictReader(io.StringIO(text(dave.get("/access/export?format=csv&repo=plant-a-ot")))))
    assert list(rows[0]) == list(COLUMNS)
    grace = [r for r in rows if r["username"] == "grace"]
    assert grace and {r["conflicts"] for r in grace} == {"disabled"} and {r["dormant"] for r in grace} == {"false"}
    doc = json.loads(dave.get("/access/export?format=json").data)
    assert list(doc) == ["generated_at", "repo", "summary", "rows"] and doc["summary"]["disabled"] == 1
    resp = dave.get("/access/export?format=xlsx")
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=access-review_all_")
    book = load_workbook(io.BytesIO(resp.data), read_only=True)
    assert book.sheetnames == ["summary", "access"]
    summary = {r[0]: r[1] for r in book["summary"].iter_rows(values_only=True)}
    assert summary["conflict emergency+author"] == 1 and summary["repo"] == "every repo"
    assert next(book["access"].iter_rows(values_only=True)) == COLUMNS


def test_a_review_decided_and_signed_with_the_password(access_app: Flask) -> None:
    mallory = as_user(access_app, "mallory")
    resp = mallory.post("/access/reviews", data={"repo": "plant-a-ot"})
    assert resp.status_code == 303
    url = resp.headers["Location"]
    review_id = int(url.rsplit("/", 1)[1])
    page = text(mallory.get(url))
    picks = [int(p) for p in re.findall(r'name="row" value="(\d+)"', page)]
    assert picks and "Sign the access review" not in page
    revoke = f"{url}/decide"
    resp = mallory.post(revoke, data={"row": picks[:1], "revoke": "Revoke the selected rights", "comment": ""})
    assert resp.status_code == 400 and "a comment is required to revoke" in text(resp)
    assert re.search(r'<textarea aria-invalid="true"[^>]* id="comment"', text(resp)), "the field says so"
    resp = mallory.post(revoke, data={"row": picks[:1], "revoke": "Revoke", "comment": "left the team"})
    assert resp.status_code == 303
    resp = mallory.post(revoke, data={"row": picks[1:], "keep": "Keep", "comment": ""})
    assert resp.status_code == 303
    page = text(mallory.get(url))
    assert f"{len(picks)} of {len(picks)} rows decided" in page and "Sign the access review" in page
    sign = f"{url}/sign"
    resp = mallory.post(sign, data={"meaning": "Reviewed and certified", "password": "wrong"})
    assert resp.status_code == 401 and "wrong password: the signature was not recorded" in text(resp)
    with access_app.extensions["gatekeeper"].store.read() as s:  # counted by the approvals' lockout
        assert any("mallory" in c.key for c in s.exec(select(AuthCounter)).all())
    assert not entries(access_app, "access.review_signed")
    resp = mallory.post(sign, data={"meaning": "Made up", "password": "pw-mallory-secret"})
    assert resp.status_code == 400
    resp = mallory.post(sign, data={"meaning": "Reviewed and certified", "password": "pw-mallory-secret",
                                    "comment": "Q1"})
    assert resp.status_code == 303, text(resp)
    page = text(mallory.get(url))
    assert "signed</span> by mallory" in page and "Signature recorded: Mallory Outsider signed" in page
    [signed] = entries(access_app, "access.review_signed")
    payload = json.loads(signed.payload)
    assert (payload["review_id"], payload["rows"], payload["revoked"]) == (review_id, len(picks), 1)
    assert len(entries(access_app, "access.decided")) == len(picks)
    assert mallory.post(revoke, data={"row": picks[:1], "keep": "Keep"}).status_code == 409
    todo = text(mallory.get("/access"))  # work for the directory's owners until a snapshot finds it done
    assert "Revocations to carry out in the directory" in todo and f"#{review_id}, row {picks[0]}" in todo


def test_a_reviewer_gets_no_checkbox_for_their_own_rights(access_app: Flask) -> None:
    dave = as_user(access_app, "dave")
    url = dave.post("/access/reviews", data={"repo": ""}).headers["Location"]
    page = text(dave.get(url))
    row = re.search(r'<tr id="row-(\d+)"[^>]*>\s*<td><span class="muted">another reviewer</span></td>\s*'
                    r'<td>\d+</td>\s*<td>Dave Auditor', page)
    assert row is not None
    resp = dave.post(f"{url}/decide", data={"row": [row.group(1)], "keep": "Keep"})
    assert resp.status_code == 403 and "about their own access" in text(resp)
    assert not entries(access_app, "access.decided")


def test_the_pages_speak_the_readers_language(access_app: Flask) -> None:
    """Words, rights and decisions in the reader's language; codes, names and times as the log has them."""
    dave = as_user(access_app, "dave")
    german = {"Accept-Language": "de"}
    page = text(dave.get("/access", headers=german))
    assert "Zugriff: wer darf was ändern und freigeben" in page and "<td>Verwaltung</td>" in page
    assert "<code>emergency+author</code></dt><dd class=\"problem\">1 Person</dd>" in page
    assert 'aria-label="Tabelle: Rechte je Person"' in page and "<time datetime=" in page
    url = dave.post("/access/reviews", data={"repo": ""}, headers=german).headers["Location"]
    page = text(dave.get(url, headers={"Accept-Language": "nl"}))
    assert "Toegangsreview" in page and "rijen beslist" in page and "een andere reviewer" in page
    assert "Gekozen rechten intrekken" in page and "Opened by" not in page


def test_sign_ins_are_logged_for_last_activity(access_app: Flask) -> None:
    as_user(access_app, "carol")
    assert [json.loads(e.payload)["username"] for e in entries(access_app, "auth.signed_in")] == ["carol"]
    rows = list(csv.DictReader(io.StringIO(text(as_user(access_app, "dave").get("/access/export")))))
    assert {r["last_activity"] for r in rows if r["username"] == "carol"} != {""}
