"""Phones and keyboards (issue 25, WCAG 2.2): axe-core on every page for every role at 390 and 1280 px,
no sideways scrolling of the page at 320 px, and the whole sign flow by keyboard alone.

One Chromium and two live services for the module (the seeded plant; the access plant with a review
in each state); one browser context (one sign-in) per role, whose viewport is resized between widths,
so each page is loaded once per role per width.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.support.access import make_access_plant, services, three_reviews
from tests.support.plant import password
from tests.support.service import Service, running
from tests.web.conftest import Seed
from tests.web.test_browser import chromium, live  # noqa: F401 - the module's browser and service

pytestmark = pytest.mark.browser

AXE = Axe()
WIDTHS = (320, 390, 1280)  # reflow at all three; axe at the phone and the desktop width
ROLES = {
    "alice": ["/", "/changes?who=mine&sort=title", "/changes/{pending}", "/changes/{deployed}",
              "/log?from=2000-01-01&to=2999-12-31", "/drift", "/settings", "/changes/{financial}"],
    "carol": ["/changes/{pending}"],  # the sign form
    "dave": ["/audit?from=2000-01-01&to=2999-12-31", "/log?change={deployed}"],
    "frank": ["/", "/admin/sessions", "/changes?page=999", "/changes/999999"],
}
ACCESS_ROLES = {  # the access plant: frank an admin, dave an auditor and access reviewer, mallory a reviewer only
    "frank": ["/access", "/access/reviews/{signed}"],
    "dave": ["/access", "/access/reviews/{open}", "/access/reviews/{to_sign}"],
    "mallory": ["/access?repo=plant-a-ot"],
}


def sign_in(browser: Browser, service: Service, user: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(service.url + "/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password(user))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(service.url + "/")
    return page


def problems(page: Page, width: int) -> list[str]:
    page.set_viewport_size({"width": width, "height": 800})
    found = []
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e =>
            e.getBoundingClientRect().right > window.innerWidth + 1 && !e.parentElement.closest('.scroll, pre'))
            .slice(0, 4).map(e => e.tagName + '.' + e.className + ' ' + (e.innerText || '').slice(0, 40))""")
        found.append(f"scrolls sideways by {overflow} px at {width} px: {wide}")
    if width in (390, 1280):
        result = AXE.run(page)
        for v in result.response["violations"]:
            nodes = "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"])
                              for n in v["nodes"][:3])
            found.append(f"axe {v['id']} at {width} px: {v['help']} ({nodes})")
    return found


@pytest.fixture(scope="module")
def access_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, dict[str, int]]]:
    plant = make_access_plant(tmp_path_factory.mktemp("a11y-access") / "plant")
    svc = services(plant)
    try:
        ids = three_reviews(svc)
    finally:
        svc.store.dispose()
    with running(plant) as served:
        yield served, ids


def visit(chromium: Browser, service: Service, roles: dict[str, list[str]], ids: dict[str, int],  # noqa: F811
          out: dict[str, list[str]]) -> None:
    for user, paths in roles.items():
        page = sign_in(chromium, service, user)
        for path in paths:
            url = path.format(**ids)
            page.goto(service.url + url)
            out[f"{user} {url}"] = [p for w in WIDTHS for p in problems(page, w)]
        page.context.close()


@pytest.fixture(scope="module")
def found(chromium: Browser, live: Service, seed: Seed,  # noqa: F811
          access_live: tuple[Service, dict[str, int]]) -> Iterator[dict[str, list[str]]]:
    out: dict[str, list[str]] = {}
    anon = chromium.new_context().new_page()
    anon.goto(live.url + "/login")
    out["(signed out) /login"] = [p for w in WIDTHS for p in problems(anon, w)]
    anon.context.close()
    visit(chromium, live, ROLES, {"pending": seed.pending, "deployed": seed.deployed, "financial": seed.financial}, out)
    visit(chromium, access_live[0], ACCESS_ROLES, access_live[1], out)
    yield out


def test_every_page_is_axe_clean_and_reflows(found: dict[str, list[str]]) -> None:
    bad = {page: issues for page, issues in found.items() if issues}
    assert not bad, "\n".join(f"{page}: {issue}" for page, issues in bad.items() for issue in issues)


def test_the_menu_button_opens_the_navigation_on_a_phone(chromium: Browser, live: Service) -> None:  # noqa: F811
    page = sign_in(chromium, live, "frank")
    page.set_viewport_size({"width": 390, "height": 800})
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Sessions")).to_be_hidden()
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    sessions = page.get_by_role("link", name="Sessions")
    expect(sessions).to_be_visible()
    box, header = sessions.bounding_box(), page.locator("header.top").bounding_box()
    assert box and header and box["y"] + box["height"] <= header["y"] + header["height"]  # stays in the dark bar
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    page.context.close()


def test_the_whole_sign_flow_by_keyboard_alone(chromium: Browser, live: Service, seed: Seed) -> None:  # noqa: F811
    """Sign in, reach the change from "waiting for my signature", read the diff, reject with a comment
    and the password: Tab, typing and Enter only, never the mouse."""
    page = chromium.new_context(viewport={"width": 390, "height": 800}).new_page()
    page.goto(live.url + "/login")

    def tab_to(locator_text: str, role: str = "link", limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(a) => { const e = document.activeElement; return !!e && (e.getAttribute('role') "
                             "=== a[1] || e.tagName.toLowerCase() === (a[1] === 'link' ? 'a' : a[1])) && "
                             "((e.innerText || e.value || '') + ' ' + (e.getAttribute('aria-label') || ''))"
                             ".includes(a[0]) }", [locator_text, role]):
                return
        raise AssertionError(f"{locator_text!r} ({role}) not reachable by Tab")

    expect(page.locator("#username")).to_be_focused()  # the username field has focus on arrival (once rendered)
    page.keyboard.type("gina")
    page.keyboard.press("Tab")
    page.keyboard.type(password("gina"))
    page.keyboard.press("Enter")
    page.wait_for_url(live.url + "/")
    tab_to(f"#{seed.pending}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/changes/{seed.pending}")
    if page.locator("pre.diff").count():
        tab_to("", role="pre")  # a line diff takes focus, so it scrolls by keyboard
    tab_to("Sign this change")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # into the sign section: printed name (read-only), meaning, comment, password
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "comment":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("Posting unit must stay EA; please split the change")
    page.keyboard.press("Tab")
    page.keyboard.type(password("gina"))
    tab_to("Reject", role="input")
    page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_contain_text("Gina Lead rejected change request")
    page.context.close()
