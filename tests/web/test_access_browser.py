"""Real Chromium against the real ``gatekeeper serve``: an access reviewer opens a review, keeps and revokes
rights row by row, and signs the whole review with her password (issue 24)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.support.access import make_access_plant
from tests.support.plant import password
from tests.support.service import Service, running
from tests.web.test_browser import ARGS, CHROMIUM, chromium  # noqa: F401  (the module's browser)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running(make_access_plant(tmp_path_factory.mktemp("access") / "plant")) as svc:
        yield svc


def test_a_reviewer_signs_an_access_review(chromium: Browser, live: Service) -> None:  # noqa: F811
    assert CHROMIUM.exists() and ARGS
    ctx = chromium.new_context(viewport={"width": 1366, "height": 900})
    csp: list[str] = []
    page = ctx.new_page()
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live.url + "/login")
    page.get_by_label("Username").fill("mallory")
    page.get_by_label("Password").fill(password("mallory"))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Access").click()
    expect(page.locator("#conflict-summary")).to_contain_text("emergency+author")
    page.get_by_label("Scope of the new review").select_option("plant-a-ot")
    page.get_by_role("button", name="Open an access review").click()
    expect(page.locator(".flash-success")).to_contain_text("opened")

    grace = page.locator("tr", has_text="Grace Leaver").locator("input[name=row]")
    revoked = grace.count()
    assert revoked > 0
    for i in range(revoked):
        grace.nth(i).check()
    page.get_by_label("Comment (required to revoke)").fill("left the plant in January")
    page.get_by_role("button", name="Revoke the selected rights").click()
    expect(page.locator(".flash-success")).to_contain_text("decided: revoke")
    boxes = page.locator("input[name=row]")
    for i in range(boxes.count()):
        boxes.nth(i).check()
    page.get_by_role("button", name="Keep the selected rights").click()
    expect(page.locator("#progress")).to_contain_text("rows decided")
    done = page.locator("#progress").inner_text().split()
    assert done[0] == done[2], done  # "N of N rows decided"

    page.get_by_label("Your password").fill("not-her-password")
    page.get_by_role("button", name="Sign the access review").click()
    expect(page.locator("p.problem")).to_contain_text("wrong password: the signature was not recorded")
    page.get_by_label("Your password").fill(password("mallory"))
    page.get_by_role("button", name="Sign the access review").click()
    expect(page.locator(".flash-success")).to_contain_text("Signature recorded: Mallory Outsider signed access review")
    expect(page.locator("h1 + p .state")).to_have_text("signed")
    expect(page.locator("td.decision-revoke").first).to_contain_text("left the plant in January")
    entries = live.get("/api/v1/log?limit=1000", "dave").json()["entries"]
    signed = [e["payload"] for e in entries if e["kind"] == "access.review_signed"]
    assert [(p["revoked"], p["signer"]) for p in signed] == [(revoked, "mallory")]
    ctx.close()
    assert not csp, csp
