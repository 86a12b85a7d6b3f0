"""Revisions people can follow (issue 25 item 3), through real pushes and the real service: each revision's
title follows its content unless the author set one, the title change is logged, and a reviewer sees
exactly what changed since the revision they signed or last saw (the recipe's own semantic diff)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gatekeeper.ledger import events as ev
from gatekeeper.store import log
from gatekeeper.store.db import Store
from tests.formats.fixtures import read
from tests.support.git import Repo
from tests.support.plant import password
from tests.support.service import HOOK_TOKEN, SECRET_KEY, Service

pytestmark = pytest.mark.e2e

RECIPE = read("batchml/2026-04-26_BatchML_Verfahrensrezept2.xml")
ONE_AMOUNT = RECIPE.replace(b"<b2mml:QuantityString>5.0<", b"<b2mml:QuantityString>6.0<", 1)


def since_section(client: FlaskClient, cid: int, query: str = "") -> str:
    page = client.get(f"/changes/{cid}{query}").get_data(as_text=True)
    return page.split('id="since-title"')[1].split("</section>")[0] if 'id="since-title"' in page else ""


def test_titles_follow_the_content_and_reviewers_see_what_changed_since(
        repo: Repo, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.checkout("mixing", create=True)
    repo.commit({"recipes/mixing.xml": RECIPE, "tags/line1.txt": "TT-101.high = 85.0\n"},
                "Mixing recipe: new amounts")
    cid = repo.push("HEAD:refs/heads/mixing").change_id()
    assert service.sign(cid, "carol").status_code == 201
    repo.commit({"recipes/mixing.xml": ONE_AMOUNT}, "Intermediate001 to 6.0 L")
    r = repo.push("HEAD:refs/heads/mixing")
    assert "approvals reset (content changed)" in r.text(), r.lines
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["title"] == "Intermediate001 to 6.0 L"  # not revision 1's title any more
    assert [x["title"] for x in cr["revisions"]] == ["Mixing recipe: new amounts", "Intermediate001 to 6.0 L"]

    from gatekeeper.web import create_app

    monkeypatch.setenv("GATEKEEPER_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("GATEKEEPER_HOOK_TOKEN", HOOK_TOKEN)
    app = create_app(str(repo.plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False})
    carol = app.test_client()
    carol.post("/login", data={"username": "carol", "password": password("carol")})
    since = since_section(carol, cid)
    assert "You signed revision 1; this is revision 2." in since
    assert "amount 5.0 → 6.0 L" in since  # the one value that changed, in the recipe's own words
    assert since.count('class="chg ') == 1 and "tags/line1.txt" not in since

    # The author sets a title and a description; it stays theirs on later pushes.
    repo.commit({"tags/line1.txt": "TT-101.high = 90.0\n"}, "wip")
    r = repo.push("HEAD:refs/heads/mixing", options=("gatekeeper.title=Mixing recipe v3",
                                                     "gatekeeper.description=Line 3 has a smaller vessel since May"))
    assert r.ok, r.stderr
    since = since_section(carol, cid)  # carol saw revision 2 (and signed 1): the diff since 2
    assert "You last saw revision 2; this is revision 3." in since
    assert "+TT-101.high = 90.0" in since and "amount" not in since
    repo.commit({"tags/line1.txt": "TT-101.high = 95.0\n"}, "fixup")
    assert repo.push("HEAD:refs/heads/mixing").ok
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["title"] == "Mixing recipe v3" and cr["description"] == "Line 3 has a smaller vessel since May"
    page = carol.get(f"/changes/{cid}").get_data(as_text=True)
    assert "Title changed from “Intermediate001 to 6.0 L”." in page and "Line 3 has a smaller vessel since May" in page
    chosen = since_section(carol, cid, "?since=1")
    assert "Revision 1 compared with revision 4." in chosen and "amount 5.0 → 6.0 L" in chosen
    assert "+TT-101.high = 95.0" in chosen
    app.extensions["gatekeeper"].store.dispose()
    # Each title change is part of its revision's log entry.
    store = Store(repo.plant.database)
    try:
        with store.read() as s:
            revised = [ev.ChangeRevised.from_payload(e.payload) for e in log.of_kinds(s, [ev.CHANGE_REVISED])]
    finally:
        store.dispose()
    assert [(e.revision, e.title_was, e.title) for e in revised] == [
        (2, "Mixing recipe: new amounts", "Intermediate001 to 6.0 L"),
        (3, "Intermediate001 to 6.0 L", "Mixing recipe v3"),
        (4, None, "Mixing recipe v3")]
    assert revised[1].description == "Line 3 has a smaller vessel since May"
