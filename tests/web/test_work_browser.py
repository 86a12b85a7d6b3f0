"""Pages people can work in (issue 25 part 2), in Chromium against the real ``gatekeeper serve``: a signature
that survives the session ending mid-sign (on a phone), where a change stands and whose move it is,
comments, search, filters, sorting, the confirmation steps and the log's date filter."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.plant import password
from tests.support.service import Service
from tests.web.conftest import TITLE, Seed
from tests.web.test_a11y import problems
from tests.web.test_browser import chromium, live  # noqa: F401 - the module's browser and service

pytestmark = pytest.mark.browser


@pytest.fixture
def open_page(chromium: Browser, live: Service) -> Iterator[object]:  # noqa: F811
    pages: list[Page] = []
    csp: list[str] = []

    def _open(user: str, width: int = 1280) -> Page:
        page = chromium.new_context(viewport={"width": width, "height": 800}).new_page()
        page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
        pages.append(page)
        page.goto(live.url + "/login")
        sign_in(page, user)
        page.wait_for_url(live.url + "/")
        return page

    yield _open
    for page in pages:
        page.context.close()
    assert not csp, csp


def sign_in(page: Page, user: str) -> None:
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password(user))
    page.get_by_role("button", name="Sign in").click()


def test_a_signature_survives_the_session_ending_mid_sign_on_a_phone(open_page: object, live: Service,  # noqa: F811
                                                                       seed: Seed) -> None:
    page = open_page("gina", 390)  # type: ignore[operator]
    page.goto(f"{live.url}/changes/{seed.pending}#sign")
    page.get_by_label("Meaning of your rejection").select_option("Reviewed and rejected")
    page.get_by_label("Comment (required to reject)").fill("Ramp is too steep for line 3; split the change")
    page.get_by_label("Your password").fill(password("gina"))
    with sqlite3.connect(live.plant.dir / "gatekeeper.db") as conn:  # 31 minutes reading a long diff
        conn.execute("UPDATE web_session SET last_seen = last_seen - 3600 WHERE username = 'gina'")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url("**/login?next=**")
    expect(page.locator(".flashes")).to_contain_text("nothing was recorded")
    assert "Method not allowed" not in page.content()
    sign_in(page, "gina")
    page.wait_for_url(f"**/changes/{seed.pending}#sign")
    expect(page.locator(".kept")).to_contain_text("Your signature form was kept")
    expect(page.get_by_label("Comment (required to reject)")).to_have_value(
        "Ramp is too steep for line 3; split the change")
    expect(page.get_by_label("Meaning of your rejection")).to_have_value("Reviewed and rejected")
    expect(page.get_by_label("Your password")).to_be_focused()
    expect(page.get_by_label("Your password")).to_have_value("")  # the password was never kept
    assert not problems(page, 390), problems(page, 390)  # the kept form, on the phone: axe-clean, no sideways scroll
    page.set_viewport_size({"width": 390, "height": 800})
    page.get_by_label("Your password").focus()
    page.keyboard.type(password("gina"))
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url(f"**/changes/{seed.pending}#signed")
    expect(page.locator("#signed")).to_contain_text("Gina Lead rejected change request")
    expect(page.locator("#signed")).to_be_in_viewport()  # the confirmation is where the phone lands
    expect(page.locator("#status")).to_contain_text("Rejected by Gina Lead")
    expect(page.locator("#status")).to_contain_text("“Reviewed and rejected”")

    # The author finds it, and the blocked one, in "Needs your action", each with what to do next.
    alice = open_page("alice", 390)  # type: ignore[operator]
    action = alice.locator("section", has=alice.locator("#action-title"))
    expect(action).to_contain_text("A new push to recipe-update with other content reopens it; or withdraw it.")
    expect(action).to_contain_text("Fix the validation errors and push a new revision to erp-postings.")
    expect(action.locator(".state-blocked")).to_have_count(1)


def test_the_tools_reviewers_expect(open_page: object, live: Service, seed: Seed) -> None:  # noqa: F811
    page = open_page("alice")  # type: ignore[operator]
    page.get_by_role("link", name="Changes", exact=True).click()
    page.get_by_label("Search").fill("mixing")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(TITLE)
    expect(rows.first).to_contain_text("Alice Engineer")  # names, not usernames
    page.get_by_label("Search").fill("")
    page.get_by_label("Whose").select_option("mine")
    page.get_by_label("Sort by").select_option("title")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(3)  # the filtered page, not the one before it (its rows are read at once below)
    titles = [t.strip() for t in page.locator("table.list tbody tr td:nth-child(2)").all_inner_texts()]
    assert len(titles) == 3 and titles == sorted(titles, key=str.lower), titles

    # A comment on one file of the change, in its thread under the file's diff.
    page.goto(f"{live.url}/changes/{seed.pending}")
    recipe = page.locator("article.file", has=page.locator("h3", has_text="recipes/mixing.xml")).first
    recipe.get_by_text("Comment on this file").click()
    recipe.get_by_label("Your comment on recipes/mixing.xml").fill("Smaller vessel on line 3 since May.")
    recipe.get_by_role("button", name="Add comment").click()
    expect(page.locator(".flash-success")).to_contain_text("Comment added")
    expect(recipe.locator("ol.thread")).to_contain_text("Smaller vessel on line 3 since May.")
    expect(page.locator("#comments-title")).to_contain_text("Discussion (1)")

    # Withdrawing asks first (a page of its own: no script needed), then says who withdrew it and why.
    page.goto(f"{live.url}/changes/{seed.financial}")
    page.get_by_label("Reason (optional)").fill("split into two changes")
    page.get_by_role("button", name="Withdraw this change request").click()
    expect(page.locator("h1")).to_have_text(f"Withdraw change request {seed.financial}?")
    expect(page.get_by_role("button", name="Yes, withdraw it")).to_be_focused()
    assert not [p for w in (390, 1280) for p in problems(page, w)]
    page.get_by_role("button", name="Yes, withdraw it").click()
    expect(page.locator("#status")).to_contain_text("Withdrawn by Alice Engineer")
    expect(page.locator("#status")).to_contain_text("split into two changes")

    # The log: today's entries, each in a sentence.
    page.get_by_role("link", name="Change log", exact=True).click()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    page.get_by_label("From").fill(today)
    page.get_by_label("to (inclusive)").fill(today)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.log")).to_contain_text("Alice Engineer commented on recipes/mixing.xml")
    expect(page.locator("table.log")).to_contain_text("withdrawn by Alice Engineer: split into two changes")


def test_signing_someone_out_everywhere_asks_first(open_page: object, live: Service) -> None:  # noqa: F811
    open_page("carol")  # type: ignore[operator]
    page = open_page("frank")  # type: ignore[operator]
    page.get_by_role("link", name="Sessions").click()
    row = page.locator("table.sessions tbody tr", has_text="Carol Lead")
    row.get_by_role("button", name="Sign Carol Lead out everywhere").click()
    expect(page.locator("h1")).to_have_text("Sign Carol Lead out everywhere?")
    assert not [p for w in (390, 1280) for p in problems(page, w)]
    page.get_by_role("link", name="No, go back").click()
    expect(page.locator("table.sessions")).to_contain_text("Carol Lead")  # nothing happened
    page.locator("table.sessions tbody tr", has_text="Carol Lead").get_by_role("button").click()
    page.get_by_role("button", name="Yes, sign out everywhere").click()
    expect(page.locator(".flashes")).to_contain_text("of carol signed out")
    expect(page.locator("table.sessions")).not_to_contain_text("Carol Lead")
