"""Pages people can work in (issue 25 part 2), through the Flask test client on the seeded plant: a
rejection's own meaning, where a change stands and whose move it is, a sign form kept across a
re-authentication, comments, search, filters, sorting, names, the log's filters and sentences."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gatekeeper.ledger import events as ev
from gatekeeper.notify import messages, recipients
from gatekeeper.notify.events import Snapshot
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeRequest, SignDraft
from tests.support.plant import Plant, password
from tests.web.conftest import TITLE, Seed, login


def text(resp: object) -> str:
    return resp.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


def entries(app: Flask, kind: str) -> list[log.Entry]:
    with app.extensions["gatekeeper"].store.read() as s:
        return list(log.of_kinds(s, [kind]))


def mail_text(app: Flask, entry: log.Entry, lang: str = "en") -> str:
    """The mail the outbox would send for ``entry`` (``notify.messages.compose``, as the worker does)."""
    svc = app.extensions["gatekeeper"]
    event = ev.parse(entry.kind, entry.payload)
    with svc.store.read() as s:
        cr = s.get(ChangeRequest, getattr(event, "change_id", 0))
        notice = {ev.CHANGE_APPROVED: "change.approved", ev.CHANGE_REJECTED: "change.rejected",
                  ev.CHANGE_COMMENTED: "change.commented"}[entry.kind]
        return messages.compose(svc, s, notice, cr, Snapshot.of(event), lang).text("Hello,")


def api(client: FlaskClient, user: str, method: str, path: str, **kw: object) -> object:
    return client.open(path, method=method, auth=(user, password(user)), **kw)  # type: ignore[arg-type]


# -- item 2: meanings ------------------------------------------------------------------------------------
def test_a_rejection_carries_its_own_meaning_in_the_record_the_page_the_api_and_the_mail(
        app: Flask, client: FlaskClient, seed: Seed) -> None:
    # The API refuses a decision with the other decision's words, both ways.
    wrong = api(client, "gina", "POST", f"/api/v1/changes/{seed.pending}/approvals",
                json={"decision": "reject", "meaning": "Reviewed and approved", "comment": "no"})
    assert wrong.status_code == 400
    assert "the meaning of a rejection must be one of: Reviewed and rejected" in text(wrong)
    wrong = api(client, "gina", "POST", f"/api/v1/changes/{seed.pending}/approvals",
                json={"decision": "approve", "meaning": "Reviewed and rejected"})
    assert wrong.status_code == 400 and "the meaning of an approval must be one of" in text(wrong)
    # A rejection by API without a meaning gets the first reject meaning.
    done = api(client, "gina", "POST", f"/api/v1/changes/{seed.pending}/approvals",
               json={"decision": "reject", "comment": "TT-101 limit needs a HAZOP note"})
    assert done.status_code == 201
    body = done.get_json()  # type: ignore[attr-defined]
    assert body["approvals"][-1]["meaning"] == "Reviewed and rejected"
    assert body["reject_meanings"] == ["Reviewed and rejected"] and "Reviewed and rejected" not in body["meanings"]
    assert body["status"]["standing"] == "rejected" and body["status"]["acts"] == "author"
    assert body["status"]["reason"]["code"] == "change.rejected"
    # An approval through the page (carol, retrospectively) and a rejection through the page (bob).
    login(client, "carol")
    resp = client.post(f"/changes/{seed.emergency}/sign", data={
        "meaning": "Reviewed and approved", "password": password("carol"), "approve": "Approve"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("#signed")
    page = text(client.get(resp.headers["Location"]))
    assert 'id="signed"' in page and "Carol Lead approved change request" in page
    login(client, "bob")
    page = text(client.get(f"/changes/{seed.financial}"))
    assert 'name="reject_meaning"' in page and "Meaning of your rejection" in page
    assert 'name="meaning"' not in page  # bob may not approve a blocked change: only the rejection's words
    resp = client.post(f"/changes/{seed.financial}/sign", data={
        "reject_meaning": "Reviewed and rejected", "comment": "posting unit must stay EA",
        "password": password("bob"), "reject": "Reject"})
    assert resp.status_code == 303
    page = text(client.get(f"/changes/{seed.financial}"))
    assert "Rejected by Bob Controller" in page and "posting unit must stay EA" in page
    assert "“Reviewed and rejected”" in page
    assert "A new push to erp-postings with other content reopens it; or withdraw it." in page
    assert "Still needs" not in page  # a rejected change waits for nobody's signature
    # The record and the mail say the same.
    rejected = {e.payload["change_id"]: e for e in entries(app, ev.CHANGE_REJECTED)}
    assert rejected[seed.financial].payload["meaning"] == rejected[seed.pending].payload["meaning"] == \
        "Reviewed and rejected"
    # ... with the ticket and the title they were signed for (SPEC §12 Meanings)
    assert (rejected[seed.pending].payload["ticket"], rejected[seed.pending].payload["title"]) == ("CHG-1042", TITLE)
    mail = mail_text(app, rejected[seed.financial])
    assert "rejected" in mail and "bob (Reviewed and rejected)" in mail and "Reviewed and approved" not in mail
    [approved] = [e for e in entries(app, ev.CHANGE_APPROVED) if e.payload["change_id"] == seed.emergency]
    assert "carol (Reviewed and approved)" in mail_text(app, approved)


# -- item 2: where a change stands --------------------------------------------------------------------------
def test_blocked_withdrawn_and_superseded_say_who_why_and_what_next(app: Flask, client: FlaskClient,
                                                                    seed: Seed) -> None:
    login(client, "alice")
    home = text(client.get("/"))
    action = home.split('id="action-title"')[1].split("</section>")[0]
    assert f'href="/changes/{seed.financial}"' in action and "blocked" in action  # validation errors: alice's move
    assert "Fix the validation errors and push a new revision to erp-postings." in action
    assert f'href="/changes/{seed.pending}"' not in action  # waits for approvers, not for alice
    listing = text(client.get("/changes"))
    row = listing.split(f'href="/changes/{seed.financial}"')[1].split("</tr>")[0]
    assert 'class="state state-blocked"' in row and "validation error(s)" in row
    page = text(client.get(f"/changes/{seed.financial}"))
    assert "Blocked: nobody can approve this change request." in page and 'data-code="change.validation_errors"' in page
    assert "(the author, Alice Engineer, you)" in page
    # A newer change request on the same branch and target supersedes the pending one.
    with app.extensions["gatekeeper"].store.write() as s:
        old = s.get(ChangeRequest, seed.pending)
        assert old is not None
        newer = ChangeRequest(repo=old.repo, topic_ref=old.topic_ref, target=old.target, title="again",
                              state="pending", requested_by="alice", requested_at=old.requested_at)
        s.add(newer)
        s.flush()
        newer_id = newer.id
    page = text(client.get(f"/changes/{seed.pending}"))
    assert f'Superseded by change request <a href="/changes/{newer_id}">#{newer_id}</a>' in page
    assert f"Change request {newer_id} continues this branch" in page
    api_status = api(client, "dave", "GET", f"/api/v1/changes/{seed.pending}").get_json()["status"]  # type: ignore[attr-defined]
    assert api_status["standing"] == "superseded" and api_status["superseded_by"] == newer_id
    # Withdrawn: by whom and why, on the page and in the list.
    ask = client.post(f"/changes/{seed.financial}/withdraw", data={"reason": "split into two changes"})
    assert ask.status_code == 200 and "Yes, withdraw it" in text(ask)
    assert client.post(f"/changes/{seed.financial}/withdraw",
                       data={"reason": "split into two changes", "confirm": "yes"}).status_code == 303
    page = text(client.get(f"/changes/{seed.financial}"))
    assert "Withdrawn by Alice Engineer" in page and "split into two changes" in page
    row = text(client.get("/changes?state=withdrawn")).split(f'href="/changes/{seed.financial}"')[1].split("</tr>")[0]
    assert "by Alice Engineer: split into two changes" in row


# -- item 1: a sign form survives re-authentication --------------------------------------------------------
def _expire(plant: Plant, user: str) -> None:
    """The user's sessions go idle past the timeout (as 31 minutes of reading a long diff would)."""
    with sqlite3.connect(plant.dir / "gatekeeper.db") as conn:
        conn.execute("UPDATE web_session SET last_seen = last_seen - 3600 WHERE username = ?", (user,))


def test_a_sign_form_sent_after_the_session_ended_is_kept_and_restored(app: Flask, client: FlaskClient,
                                                                       plant: Plant, seed: Seed) -> None:
    login(client, "gina")
    assert client.get(f"/changes/{seed.pending}/sign").headers["Location"].endswith(f"/changes/{seed.pending}#sign")
    _expire(plant, "gina")
    resp = client.post(f"/changes/{seed.pending}/sign", data={
        "reject_meaning": "Reviewed and rejected", "comment": "Ramp is too steep for line 3",
        "password": password("gina"), "reject": "Reject"})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/login?next=/changes/{seed.pending}%23sign"
    assert "nothing was recorded" in text(client.get(resp.headers["Location"]))
    assert not [e for e in entries(app, ev.CHANGE_REJECTED) if e.payload["change_id"] == seed.pending]
    with app.extensions["gatekeeper"].store.read() as s:
        draft = s.get(SignDraft, ("gina", seed.pending))
        assert draft is not None and draft.decision == "reject" and "password" not in json.dumps(draft.model_dump())
    # Another user signing in on this browser does not get gina's draft; gina does, at #sign.
    back = login(client, "gina", next=f"/changes/{seed.pending}#sign")
    assert back.headers["Location"] == f"/changes/{seed.pending}#sign"  # type: ignore[attr-defined]
    page = text(client.get(f"/changes/{seed.pending}"))
    assert "Your signature form was kept while you signed in again." in page
    assert "Ramp is too steep for line 3</textarea>" in page
    assert '<option selected value="Reviewed and rejected">' in page
    assert 'autocomplete="current-password" autofocus' in page
    resp = client.post(f"/changes/{seed.pending}/sign", data={
        "reject_meaning": "Reviewed and rejected", "comment": "Ramp is too steep for line 3",
        "password": password("gina"), "reject": "Reject"})
    assert resp.status_code == 303
    with app.extensions["gatekeeper"].store.read() as s:
        assert s.get(SignDraft, ("gina", seed.pending)) is None  # signed: the draft is gone


def test_only_a_timed_out_session_keeps_a_draft(app: Flask, client: FlaskClient, plant: Plant, seed: Seed) -> None:
    login(client, "carol")
    admin = app.test_client()
    login(admin, "frank")
    assert admin.post("/admin/sessions", data={"username": "carol", "confirm": "yes"}).status_code == 302
    resp = client.post(f"/changes/{seed.pending}/sign", data={"comment": "planted", "approve": "Approve"})
    assert resp.headers["Location"].startswith("/login?next=")
    with app.extensions["gatekeeper"].store.read() as s:
        assert s.get(SignDraft, ("carol", seed.pending)) is None  # signed out on purpose: nothing kept
    # Any other form sent after the session ended returns to the page it was on, never to a POST-only URL.
    login(client, "carol")
    _expire(plant, "carol")
    resp = client.post(f"/changes/{seed.pending}/comments", data={"comment": "x"},
                       headers={"Referer": f"http://localhost/changes/{seed.pending}?since=1"})
    assert resp.headers["Location"] == f"/login?next=/changes/{seed.pending}?since%3D1"


# -- item 3: the discussion --------------------------------------------------------------------------------
def test_comments_on_the_change_and_a_file_are_logged_mailed_shown_and_in_the_pack(
        app: Flask, client: FlaskClient, seed: Seed) -> None:
    from gatekeeper.verifier.projection import Params, project

    login(client, "carol")
    assert client.post(f"/changes/{seed.pending}/comments", data={"comment": "   "}).status_code == 400
    bad = client.post(f"/changes/{seed.pending}/comments", data={"comment": "x", "path": "etc/passwd"})
    assert bad.status_code == 400 and "is not a file of change request" in text(bad)
    resp = client.post(f"/changes/{seed.pending}/comments",
                       data={"comment": "Why 5.0 L? The old batch size needed 8.", "path": "recipes/mixing.xml"})
    assert resp.status_code == 303 and "#file-" in resp.headers["Location"]
    login(client, "alice")
    assert client.post(f"/changes/{seed.pending}/comments",
                       data={"comment": "Smaller vessel on line 3 since May."}).status_code == 303
    page = text(client.get(f"/changes/{seed.pending}"))
    assert "Discussion (2)" in page and "Smaller vessel on line 3 since May." in page
    file_part = page.split('id="diff-title"')[1].split("recipes/mixing.xml</code>", 1)[1].split("</article>")[0]
    assert "Why 5.0 L? The old batch size needed 8." in file_part and "Carol Lead" in file_part
    commented = entries(app, ev.CHANGE_COMMENTED)
    assert [(e.actor, e.payload.get("path")) for e in commented] == [("carol", "recipes/mixing.xml"), ("alice", None)]
    svc = app.extensions["gatekeeper"]
    with svc.store.read() as s:
        cr = s.get(ChangeRequest, seed.pending)
        told = [r.user.username for r in recipients.for_event(svc, s, "change.commented", cr,
                                                              Snapshot.of(ev.parse(commented[1].kind,
                                                                                   commented[1].payload)))]
        logged = [(r[0], r[1], r[2], r[3], json.loads(r[4]), r[4].encode()) for r in log.rows(s)]
    # comments.csv is the verifier's own projection of the log (the pack's verify.py proves it both ways)
    rows = project(Params("2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "2999-01-01T00:00:00Z",
                          logged[-1][0]), logged).comments
    assert told == ["carol"]  # the author commented: told are those who took part, never the commenter
    assert [(r["username"], r["path"], r["log_seq"]) for r in rows] == [
        ("carol", "recipes/mixing.xml", commented[0].seq), ("alice", "", commented[1].seq)]
    mail = mail_text(app, commented[0], "de")
    assert "Neuer Kommentar zu Änderungsantrag" in mail and "Why 5.0 L?" in mail and "#file-" in mail


# -- item 6: search, filters, sorting, names, the log ------------------------------------------------------
def test_search_filters_and_sort_on_the_list(client: FlaskClient, seed: Seed) -> None:
    login(client, "bob")

    def ids(query: str) -> list[int]:
        page = text(client.get("/changes?" + query))
        return [int(x.split('"')[0]) for x in page.split('<td><a href="/changes/')[1:]]

    assert ids("q=mixing") == [seed.pending]
    assert ids("q=CHG-1042") == [seed.pending] and ids(f"q=%23{seed.financial}") == [seed.financial]
    assert ids("q=%25") == [] and ids("q=erp-post") == [seed.financial]  # LIKE's own characters are literal
    assert ids("who=groups") == [seed.financial]  # bob approves erp-mapping only
    assert ids("sort=oldest") == sorted(ids("sort=newest"))
    titles = [t.split("<")[0] for t in text(client.get("/changes?sort=title")).split('</a></td>\n    <td>')[1:]]
    assert titles == sorted(titles, key=str.lower)
    login(client, "alice")
    assert set(ids("who=mine")) == {seed.deployed, seed.pending, seed.financial}
    page = text(client.get("/changes?who=mine&q=recipe"))
    assert '<span class="person" title="alice">Alice Engineer</span>' in page and TITLE in page


def test_ticket_ids_link_to_the_itsm(plant: Plant, env: None, seed: Seed, monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekeeper.web import create_app

    monkeypatch.setenv("ITSM_TOKEN", "t")
    plant.config.write_text(plant.config.read_text() + '\n[itsm]\nkind = "jira"\nurl = "https://jira.example"\n'
                            'token_env = "ITSM_TOKEN"\nallowed_states = ["Approved"]\n')
    app = create_app(str(plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    login(client, "carol")
    link = '<a href="https://jira.example/browse/CHG-1042" rel="noopener noreferrer">CHG-1042</a>'
    assert link in text(client.get(f"/changes/{seed.pending}")) and link in text(client.get("/changes"))
    app.extensions["gatekeeper"].store.dispose()


def test_the_log_filters_by_date_and_speaks_every_kind(app: Flask, client: FlaskClient, seed: Seed) -> None:
    from gatekeeper.web.summaries import SUMMARIES, summary

    login(client, "alice")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    page = text(client.get(f"/log?from={today}&to={today}"))
    assert "revision 1 pushed by Alice Engineer from refs/heads/recipe-update" in page
    assert '<span class="person" title="carol">Carol Lead</span>' in page
    assert "seq 1" in page or 'id="seq-1"' in page
    assert 'id="seq-' not in text(client.get("/log?from=2000-01-01&to=2000-01-02"))
    bad = client.get("/log?from=2026-02-30")
    assert bad.status_code == 400 and "YYYY-MM-DD" in text(bad) and "%Y" not in text(bad)
    # Every kind in the registry has its own sentence: a new kind without one fails here.
    assert set(SUMMARIES) == set(ev.KINDS)
    with app.test_request_context(headers={"Accept-Language": "nl"}):
        for cls in ev.KINDS:
            said = summary(cls(), "erin", lambda u: f"Name of {u}")
            assert said and said != cls.KIND and "%(" not in said, cls.KIND
        assert summary(ev.KeyCreated(key_id="abc", created_now=True), "x").startswith("ondertekeningssleutel")
