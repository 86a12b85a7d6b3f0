"""The pages through the Flask test client, on change requests made by real pushes (see conftest)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import func, select

from gatekeeper.audit.register import COLUMNS
from gatekeeper.clock import Manual
from gatekeeper.store import log
from gatekeeper.store.tables import Approval
from tests.support.plant import GROUPS, USERS, Plant, directory_toml, password
from tests.web.conftest import TITLE, Seed, login

PERIOD = "from=2000-01-01&to=2999-12-31"


def text(resp: object) -> str:
    return resp.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


def recorded(app: Flask) -> tuple[int, int]:
    """(signatures, log head seq): a refused signature records no signature and exactly one log entry,
    ``change.sign_refused`` (see ``refused_only``)."""
    with app.extensions["gatekeeper"].store.read() as s:
        head = log.head(s)
        return int(s.exec(select(func.count()).select_from(Approval)).one()), head.seq if head else 0


def refused_only(app: Flask, before: tuple[int, int]) -> bool:
    """Nothing recorded but the refusal itself: the same signatures, one more log entry, of that kind."""
    after = recorded(app)
    with app.extensions["gatekeeper"].store.read() as s:
        head = log.head(s)
        kind = head.kind if head else ""
    return after == (before[0], before[1] + 1) and kind == "change.sign_refused"


def sign(client: FlaskClient, change_id: int, user: str, decision: str = "approve", pw: str | None = None,
         **fields: str) -> object:
    data = {"meaning": "Reviewed and approved", "comment": "", "password": pw or password(user),
            decision: "Approve" if decision == "approve" else "Reject", **fields}
    return client.post(f"/changes/{change_id}/sign", data=data)


# -- sign-in, sessions, headers -------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/changes", "/changes/2", "/audit", "/log",
                                  f"/audit/register?{PERIOD}", f"/audit/evidence?{PERIOD}"])
def test_every_page_needs_sign_in(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")


def test_login_needs_both_fields(client: FlaskClient) -> None:
    resp = client.post("/login", data={"username": "carol", "password": ""})
    assert resp.status_code == 400 and "This field is required" in text(resp)


@pytest.mark.parametrize(("user", "pw"), [("carol", "wrong"), ("nobody", "whatever"),
                                         ("carol", password("alice"))])
def test_login_failure_is_one_generic_message(client: FlaskClient, user: str, pw: str) -> None:
    resp = login(client, user, pw)
    assert resp.status_code == 401  # type: ignore[attr-defined]
    assert "unknown username or wrong password" in text(resp)
    assert "WWW-Authenticate" not in resp.headers  # type: ignore[attr-defined]
    assert client.get("/").status_code == 302


def test_login_logout(client: FlaskClient) -> None:
    resp = login(client, "carol", next="/changes")
    assert resp.headers["Location"] == "/changes"  # type: ignore[attr-defined]
    cookie = resp.headers["Set-Cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http:// service
    assert "Carol Lead" in text(client.get("/"))
    with client.session_transaction() as sess:
        assert set(sess) <= {"sid", "_permanent", "csrf_token", "_flashes"}  # a session token only
    assert "Sign out of Gatekeeper" in text(client.get("/logout"))  # GET only asks; POST signs out
    assert client.post("/logout").headers["Location"] == "/login"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    assert login(client, "carol", next=target).headers["Location"] == "/"  # type: ignore[attr-defined]


def test_idle_session_is_signed_out(client: FlaskClient, plant: Plant, app: Flask) -> None:
    clock = Manual(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    app.extensions["gatekeeper"].clock = clock
    login(client, "carol")
    clock.advance(minutes=29)
    assert client.get("/changes").status_code == 200  # active: the idle timeout starts again
    clock.advance(minutes=31)  # default idle: 30 minutes
    resp = client.get("/changes")
    assert resp.status_code == 302
    assert "minutes without activity" in text(client.get(resp.headers["Location"]))
    assert client.get("/").status_code == 302


def test_user_removed_from_directory_loses_the_session(client: FlaskClient, plant: Plant) -> None:
    login(client, "carol")
    users = {k: v for k, v in USERS.items() if k != "carol"}
    groups = {g: ([m for m in members if m != "carol"], nested) for g, (members, nested) in GROUPS.items()}
    seen = plant.directory.stat().st_mtime_ns
    plant.directory.write_text(directory_toml(users, groups))
    os.utime(plant.directory, ns=(seen + 10**9, seen + 10**9))  # a new mtime, so the file directory reloads
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/openapi.json", "/nowhere"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["Content-Security-Policy"] == ("default-src 'self'; frame-ancestors 'none'; "
                                                  "form-action 'self'; base-uri 'none'")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_templates_have_no_inline_script_or_style(client: FlaskClient, seed: Seed) -> None:
    login(client, "frank")  # an admin sees every page
    for path in ["/", "/changes", f"/changes/{seed.pending}", "/audit", "/log", "/changes/999999"]:
        html = text(client.get(path))
        # The one script is a file (the phone menu, issue 25), allowed by the CSP's 'self'; none inline.
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts == ['<script src="/static/menu.js" defer>'], path
        assert "style=" not in html and "<style" not in html, path


# -- roles ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("user", "status"), [("dave", 200), ("frank", 200), ("carol", 403), ("alice", 403)])
@pytest.mark.parametrize("path", ["/audit", f"/audit/register?{PERIOD}&format=csv", f"/audit/report?{PERIOD}"])
def test_audit_needs_auditor_or_admin(client: FlaskClient, user: str, status: int, path: str) -> None:
    login(client, user)
    resp = client.get(path)
    assert resp.status_code == status
    if status == 403:
        assert f"{user} needs the auditors or admins role" in text(resp)
        assert "<h1" in text(resp)  # the error page, not JSON


def test_audit_link_only_for_auditors(client: FlaskClient) -> None:
    login(client, "carol")
    assert 'href="/audit"' not in text(client.get("/"))
    login(client, "dave")
    assert 'href="/audit"' in text(client.get("/"))


def test_missing_change_is_a_404_page(client: FlaskClient) -> None:
    login(client, "carol")
    resp = client.get("/changes/999999")
    assert resp.status_code == 404 and "change request 999999 not found" in text(resp)


# -- dashboard and list --------------------------------------------------------------------------------
def test_dashboard_offers_only_what_i_may_sign(client: FlaskClient, seed: Seed) -> None:
    login(client, "carol")
    html = text(client.get("/"))
    todo = html.split('id="todo-title"')[1].split("</section>")[0]
    assert f'href="/changes/{seed.pending}"' in todo
    assert f'href="/changes/{seed.emergency}"' in todo  # retrospective approval
    assert f'href="/changes/{seed.financial}"' not in todo  # validation errors: cannot be approved
    assert "Emergency changes awaiting retrospective approval (1)" in html
    assert "PT-204 nuisance trips" in html
    login(client, "alice")
    html = text(client.get("/"))
    assert "Nothing is waiting for your signature" in html
    mine = html.split('id="mine-title"')[1].split("</section>")[0]
    assert TITLE in mine and "pending" in mine


@pytest.mark.parametrize(("query", "present", "absent"), [
    ("state=pending", ["pending"], ["deployed", "emergency"]),
    ("financial=yes", ["financial"], ["pending", "deployed", "emergency"]),
    ("category=recipes", ["pending", "deployed"], ["financial", "emergency"]),
    ("repo=plant-a-ot&state=emergency", ["emergency"], ["pending", "financial"]),
    ("from=2999-01-01", [], ["pending", "financial", "deployed", "emergency"]),
])
def test_change_list_filters(client: FlaskClient, seed: Seed, query: str, present: list[str],
                             absent: list[str]) -> None:
    login(client, "dave")
    resp = client.get(f"/changes?{query}")
    assert resp.status_code == 200
    for name in present:
        assert f'href="/changes/{getattr(seed, name)}"' in text(resp), name
    for name in absent:
        assert f'href="/changes/{getattr(seed, name)}"' not in text(resp), name


def test_change_list_bad_filter_and_pages(client: FlaskClient) -> None:
    login(client, "dave")
    resp = client.get("/changes?state=bogus")
    assert resp.status_code == 400 and "unknown state" in text(resp)
    assert client.get("/changes?from=2024-13-45").status_code == 400
    past = client.get("/changes?page=99")  # past the end: said in words, and the last page is shown (issue 25)
    assert past.status_code == 404 and "There is no page 99" in text(past)


# -- the change page and the signature -------------------------------------------------------------------
def test_change_page_shows_the_evidence(client: FlaskClient, seed: Seed) -> None:
    login(client, "carol")
    html = text(client.get(f"/changes/{seed.pending}"))
    for fragment in [TITLE, "CHG-1042", "recipe-update", "recipes/mixing.xml", "tags/line1.txt",
                     "scada-tags", "amount 8.0 → 5.0 L", "+TT-101.high = 90.0", "-TT-101.high = 85.0",
                     "ot-engineering-leads", "nobody yet", "alice cannot approve a change they took part in",
                     "yes, for ot-engineering-leads", "change.opened", "Pushed by <strong>Alice Engineer</strong>",
                     "Alice Engineer &lt;alice@plant.example&gt;", 'name="password"', 'value="Carol Lead"',
                     "Approved for production"]:
        assert fragment in html, fragment
    assert re.search(r"fingerprint <code class=\"hash\">[0-9a-f]{64}</code>", html)
    assert re.search(r"seq \d+</span>", html)


def test_author_sees_the_reason_and_no_form(client: FlaskClient, seed: Seed, app: Flask) -> None:
    login(client, "alice")
    html = text(client.get(f"/changes/{seed.pending}"))
    assert "You cannot sign this change" in html
    assert "alice cannot approve a change they took part in (as author, committer, pusher)" in html
    assert 'name="password"' not in html
    before = recorded(app)
    resp = sign(client, seed.pending, "alice")  # posting anyway: refused on the server as well
    assert resp.status_code == 403 and "took part in" in text(resp)  # type: ignore[attr-defined]
    assert refused_only(app, before)


def test_wrong_signing_password_records_nothing(client: FlaskClient, seed: Seed, app: Flask) -> None:
    login(client, "carol")
    before = recorded(app)
    resp = sign(client, seed.pending, "carol", pw="not-my-password")
    assert resp.status_code == 401  # type: ignore[attr-defined]
    assert "wrong password: the signature was not recorded" in text(resp)
    assert recorded(app) == before
    assert 'not-my-password' not in text(resp)
    assert "pending" in text(client.get(f"/changes/{seed.pending}"))


def test_reject_needs_a_comment(client: FlaskClient, seed: Seed, app: Flask) -> None:
    login(client, "carol")
    before = recorded(app)
    resp = sign(client, seed.pending, "carol", "reject")
    assert resp.status_code == 400 and "a comment is required to reject" in text(resp)  # type: ignore[attr-defined]
    assert recorded(app) == before
    resp = sign(client, seed.pending, "carol", "reject", comment="TT-101 limit needs a HAZOP note")
    assert resp.status_code == 303  # type: ignore[attr-defined]
    html = text(client.get(f"/changes/{seed.pending}"))
    assert "state-rejected" in html and "TT-101 limit needs a HAZOP note" in html


def test_a_signature_is_for_what_the_page_showed(client: FlaskClient, seed: Seed, app: Flask) -> None:
    """Issue 22 item 5 through the page: the form carries the fingerprint and ticket it was shown with;
    a revision or ticket that changed since makes the signature a 409, a forged value a 400."""
    login(client, "carol")
    html = text(client.get(f"/changes/{seed.pending}"))
    shown = re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]{64})"', html)
    assert shown is not None and 'name="ticket" type="hidden"' in html
    before = recorded(app)
    stale = sign(client, seed.pending, "carol", fingerprint="0" * 64, ticket="")
    assert stale.status_code == 409 and "changed since it was shown" in text(stale)  # type: ignore[attr-defined]
    other = sign(client, seed.pending, "carol", fingerprint=shown.group(1), ticket="CHG0000999")
    assert other.status_code == 409  # type: ignore[attr-defined]
    forged = sign(client, seed.pending, "carol", fingerprint="not-a-fingerprint")
    assert forged.status_code == 400 and "reload the page" in text(forged)  # type: ignore[attr-defined]
    assert recorded(app) == before


def test_signature_checks_the_signed_in_users_password(client: FlaskClient, seed: Seed, app: Flask) -> None:
    login(client, "carol")
    before = recorded(app)
    assert sign(client, seed.pending, "gina").status_code == 401  # type: ignore[attr-defined]
    assert recorded(app) == before


def test_sign_with_password_approves(client: FlaskClient, seed: Seed, app: Flask) -> None:
    login(client, "carol")
    signatures, head = recorded(app)
    resp = sign(client, seed.pending, "carol", meaning="Approved for production")
    assert resp.status_code == 303  # type: ignore[attr-defined]
    assert recorded(app) == (signatures + 1, head + 1)
    html = text(client.get(resp.headers["Location"]))  # type: ignore[attr-defined]
    assert "Signature recorded: Carol Lead approved" in html
    assert re.search(r"<strong>Carol Lead</strong>.*approved.*Approved for production.*\d{4}-\d\d-\d\d "
                     r"\d\d:\d\d:\d\d [+-]\d\d:\d\d", html, re.S)
    assert 'state-approved' in html and 'name="password"' not in html
    assert "change.approved" in html


def test_meaning_must_be_one_of_the_categorys(client: FlaskClient, seed: Seed, app: Flask) -> None:
    login(client, "carol")
    before = recorded(app)
    assert sign(client, seed.pending, "carol", meaning="Whatever").status_code == 400  # type: ignore[attr-defined]
    assert recorded(app) == before


def test_outsider_cannot_sign(client: FlaskClient, seed: Seed, app: Flask) -> None:
    login(client, "mallory")
    assert "mallory is not in an approving group" in text(client.get(f"/changes/{seed.pending}"))
    before = recorded(app)
    assert sign(client, seed.pending, "mallory").status_code == 403  # type: ignore[attr-defined]
    assert refused_only(app, before)


def test_withdraw_by_author_only(client: FlaskClient, seed: Seed) -> None:
    login(client, "carol")
    assert "Withdraw this change request" not in text(client.get(f"/changes/{seed.pending}"))
    assert client.post(f"/changes/{seed.pending}/withdraw", data={"reason": "x"}).status_code == 403
    login(client, "alice")
    ask = client.post(f"/changes/{seed.pending}/withdraw", data={"reason": "superseded"})  # step one: confirm?
    assert ask.status_code == 200 and f"Withdraw change request {seed.pending}?" in text(ask)
    assert 'name="confirm" type="hidden" value="yes"' in text(ask) and 'value="superseded"' in text(ask)
    assert "state-pending" in text(client.get(f"/changes/{seed.pending}"))  # nothing happened yet
    resp = client.post(f"/changes/{seed.pending}/withdraw", data={"reason": "superseded", "confirm": "yes"})
    assert resp.status_code == 303
    page = text(client.get(f"/changes/{seed.pending}"))
    assert "state-withdrawn" in page and "Withdrawn by Alice Engineer" in page and "superseded" in page


# -- CSRF ------------------------------------------------------------------------------------------------
@pytest.fixture
def csrf_client(plant: Plant, env: None) -> FlaskClient:
    from gatekeeper.web import create_app

    return create_app(str(plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": True}).test_client()


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


def test_forms_without_csrf_token_are_refused(csrf_client: FlaskClient, seed: Seed) -> None:
    resp = csrf_client.post("/login", data={"username": "carol", "password": password("carol")})
    assert resp.status_code == 400
    assert "CSRF token is missing" in text(resp) and "Nothing was recorded" in text(resp)
    page = text(csrf_client.get("/login"))
    resp = csrf_client.post("/login", data={"username": "carol", "password": password("carol"),
                                            "csrf_token": token(page)})
    assert resp.status_code == 302
    resp = csrf_client.post(f"/changes/{seed.pending}/sign", data={
        "meaning": "Reviewed and approved", "password": password("carol"), "approve": "Approve"})
    assert resp.status_code == 400
    html = text(csrf_client.get(f"/changes/{seed.pending}"))
    assert "No signatures yet" in html
    resp = csrf_client.post(f"/changes/{seed.pending}/sign", data={
        "meaning": "Reviewed and approved", "password": password("carol"), "approve": "Approve",
        "csrf_token": token(html)})
    assert resp.status_code == 303


def test_api_is_exempt_from_csrf(csrf_client: FlaskClient, seed: Seed) -> None:
    resp = csrf_client.post(f"/api/v1/changes/{seed.pending}/approvals", json={"decision": "approve"},
                            auth=("gina", password("gina")))
    assert resp.status_code == 201, resp.get_json()


# -- audit and log ---------------------------------------------------------------------------------------
def test_audit_page_and_register_downloads(client: FlaskClient, seed: Seed, app: Flask, plant: Plant) -> None:
    from gatekeeper.checkpoints.keys import load_private_key
    from gatekeeper.checkpoints.sign import make_checkpoint

    store = app.extensions["gatekeeper"].store
    cp = make_checkpoint(store, load_private_key(plant.dir / "signing-key.pem"))
    login(client, "dave")
    html = text(client.get(f"/audit?{PERIOD}&verify=1"))
    for fragment in ["Change log status", f"seq {cp.seq}, ", cp.hash, "log intact", "1 in the log verified",
                     "push.refused: 1", "PT-204 nuisance trips", "refusing refs/heads/main",
                     'id="chart-weekly"', "Control report (HTML)"]:
        assert fragment in html, fragment
    resp = client.get(f"/audit/register?{PERIOD}&format=csv")
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(text(resp))))
    assert tuple(rows[0]) == COLUMNS
    assert {int(r["change_id"]) for r in rows} == {seed.deployed, seed.pending, seed.financial,
                                                   seed.emergency}
    data = json.loads(text(client.get(f"/audit/register?{PERIOD}&format=json")))
    assert len(data) == 4 and list(data[0]) == list(COLUMNS)
    assert client.get(f"/audit/register?{PERIOD}&format=pdf").status_code == 400
    assert client.get("/audit?from=yesterday").status_code == 400


def test_audit_metrics_filters_and_report(client: FlaskClient, seed: Seed) -> None:
    login(client, "dave")
    html = text(client.get(f"/audit?{PERIOD}&category=erp-mapping"))
    assert '<option value="erp-mapping" selected>' in html and "Control metrics · erp-mapping" in html
    assert html.count('class="bar"') >= 3 and "style=" not in html
    resp = client.get(f"/audit?{PERIOD}&category=%3Cscript%3E")
    assert resp.status_code == 400 and "category &#39;&lt;script&gt;&#39; is not in the policy" in text(resp)
    assert client.get(f"/audit?{PERIOD}&repo=elsewhere").status_code == 400
    resp = client.get(f"/audit/report?{PERIOD}")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment;")
    report = text(resp)
    for fragment in ("Change-management control report", "2. Controls as configured", "3. Metrics",
                     "4. Population and reconciliation to Git", "5. Exceptions", "6. Verification", "RESULT: OK",
                     "PT-204 nuisance trips", "/log?before="):
        assert fragment in report, fragment


def test_evidence_pack_or_a_clear_message(client: FlaskClient) -> None:
    login(client, "frank")
    resp = client.get(f"/audit/evidence?{PERIOD}")
    if resp.status_code == 501:
        assert "evidence pack is not available" in text(resp)
    else:
        assert resp.status_code == 200 and resp.data[:2] == b"PK"


def test_log_page_shows_hashes_and_pages(client: FlaskClient, seed: Seed) -> None:
    login(client, "carol")
    html = text(client.get("/log"))
    assert "push.refused" in html and "change.approved" in html
    assert len(re.findall(r'<code class="hash">[0-9a-f]{64}</code>', html)) >= 10
    html = text(client.get(f"/log?change={seed.pending}"))
    assert '<span class="kind-name">change.opened' in html
    assert '<span class="kind-name">emergency.deployed' not in html
    html = text(client.get("/log?before=3"))
    assert 'id="seq-2"' in html and 'id="seq-3"' not in html and "0" * 64 in html


def test_emergency_change_is_retro_approved(client: FlaskClient, seed: Seed) -> None:
    login(client, "gina")
    html = text(client.get(f"/changes/{seed.emergency}"))
    assert "PT-204 nuisance trips" in html and "Retrospective approval due" in html
    assert sign(client, seed.emergency, "gina").status_code == 303  # type: ignore[attr-defined]
    assert "state-retro-approved" in text(client.get(f"/changes/{seed.emergency}"))
    assert "Emergency changes awaiting" not in text(client.get("/"))


def test_repeated_failures_lock_the_login_and_say_so(client: FlaskClient) -> None:
    for _ in range(5):
        assert login(client, "gina", "wrong").status_code == 401  # type: ignore[attr-defined]
    resp = login(client, "gina")  # the right password, but locked now
    assert resp.status_code == 401 and "too many failed attempts; try again in" in text(resp)  # type: ignore[attr-defined]
    assert client.get("/").status_code == 302


def test_overdue_emergency_is_highlighted(client: FlaskClient, seed: Seed, plant: Plant) -> None:
    with sqlite3.connect(plant.dir / "gatekeeper.db") as conn:  # the review deadline has passed
        conn.execute("UPDATE change_request SET emergency_deadline = '2001-01-01T00:00:00Z' WHERE id = ?",
                     (seed.emergency,))
    login(client, "frank")
    html = text(client.get("/"))
    assert "1 overdue" in html and 'class="panel panel-alert"' in html and '<tr class="overdue">' in html
    html = text(client.get(f"/audit?{PERIOD}"))
    assert "retro-overdue: 1" in html
    overdue = html.split('<tr class="overdue"><td>retro-overdue</td>')[1].split("</tr>")[0]
    assert f'href="/changes/{seed.emergency}"' in overdue
    assert "state-overdue" in text(client.get(f"/changes/{seed.emergency}"))
