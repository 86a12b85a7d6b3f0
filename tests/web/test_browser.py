"""Real Chromium (Debian's, via Playwright) against the real ``gatekeeper serve``, on change requests
made by real ``git push``es: what an approver, an author and an auditor actually see and do."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from gatekeeper.audit.register import COLUMNS
from tests.support.plant import password
from tests.support.service import Service, running
from tests.web.conftest import TITLE, Seed, copy_plant

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SCREENSHOT = Path("/tmp/gatekeeper-change.png")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing ({CHROMIUM}): install the Debian package with "
                    "`apt-get install -y chromium` (or run `make system-deps`)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``gatekeeper serve`` on a copy of the seeded plant (CSRF on, as in production)."""
    with running(copy_plant(seed, tmp_path_factory.mktemp("live"))) as svc:
        yield svc


@pytest.fixture
def sign_in(chromium: Browser, live: Service) -> Iterator[object]:
    contexts = []
    csp_errors: list[str] = []

    def _sign_in(user: str) -> Page:
        ctx = chromium.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(live.url + "/login")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(password(user))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live.url + "/")
        expect(page.locator(".who")).to_contain_text(f"({user}")
        return page

    yield _sign_in
    for ctx in contexts:
        ctx.close()
    assert not csp_errors, csp_errors


def test_author_sees_the_sod_reason_and_no_form(sign_in: object, live: Service, seed: Seed) -> None:
    page = sign_in("alice")  # type: ignore[operator]
    page.goto(f"{live.url}/changes/{seed.pending}")
    sign = page.locator("#sign")
    expect(sign).to_contain_text("You cannot sign this change")
    expect(sign).to_contain_text("alice cannot approve a change they took part in (as author, committer, pusher)")
    expect(sign.locator("input[type=password]")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#sod")).to_contain_text("yes, for ot-engineering-leads")


def test_approver_signs_with_password(sign_in: object, live: Service, seed: Seed) -> None:
    page = sign_in("carol")  # type: ignore[operator]
    expect(page.locator("#todo-title")).to_contain_text("Waiting for my signature")
    todo = page.locator("section", has=page.locator("#todo-title"))
    todo.get_by_role("link", name=f"#{seed.pending}", exact=True).click()
    expect(page.locator("h1")).to_contain_text(TITLE)
    expect(page.locator("#diff")).to_contain_text("amount 8.0 → 5.0 L")
    expect(page.get_by_label("Printed name")).to_have_value("Carol Lead")
    page.get_by_label("Meaning of your approval").select_option("Approved for production")

    # A wrong password: refused, nothing recorded, the form is back with the meaning kept; the focus is on
    # the password field, which names the error: said once, where the reader is (no alert besides).
    page.get_by_label("Your password").fill("not-carols-password")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#password-error")).to_contain_text("wrong password: the signature was not recorded")
    expect(page.get_by_label("Your password")).to_be_focused()
    expect(page.get_by_label("Your password")).to_have_attribute("aria-describedby", "password-error")
    assert page.locator("[role=alert], [aria-live=assertive]").count() == 0
    expect(page.locator(".change-head .state").first).to_have_text("pending")
    expect(page.get_by_label("Meaning of your approval")).to_have_value("Approved for production")
    assert live.get(f"/api/v1/changes/{seed.pending}", "dave").json()["approvals"] == []

    page.get_by_label("Your password").fill(password("carol"))
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-success")).to_contain_text("Signature recorded: Carol Lead approved")
    expect(page.locator(".change-head .state").first).to_have_text("approved")
    record = page.locator("#signatures tbody tr").first
    expect(record).to_contain_text("Carol Lead")
    expect(record).to_contain_text("Approved for production")
    expect(record).to_contain_text("+00:00")
    expect(page.locator("#timeline")).to_contain_text("change.approved")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert live.get(f"/api/v1/changes/{seed.pending}", "dave").json()["state"] == "approved"


def test_auditor_downloads_the_register(sign_in: object, live: Service, seed: Seed) -> None:
    page = sign_in("dave")  # type: ignore[operator]
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("From").fill("2000-01-01")
    page.get_by_label("To (inclusive)").fill("2999-12-31")
    page.get_by_role("button", name="Show period").click()
    expect(page.locator("#exc-title")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Change register (CSV)").click()
    download = info.value
    assert download.suggested_filename == "change-register_2000-01-01_2999-12-31.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == COLUMNS
    assert {int(r["change_id"]) for r in rows} >= {seed.deployed, seed.pending, seed.financial, seed.emergency}


CHARTS = ("chart-weekly", "chart-categories", "chart-outcomes", "chart-approvals", "chart-emergency",
          "chart-refusals", "chart-lead-time")


def test_audit_charts_show_data_and_print(sign_in: object, live: Service, seed: Seed, tmp_path: Path) -> None:
    """Each server-rendered SVG chart has data bars (a screenshot of each is kept), inside the CSP
    (no CSP console errors: the fixture checks), and the print view drops navigation, keeps the charts."""
    page = sign_in("dave")  # type: ignore[operator]
    page.goto(f"{live.url}/audit?from=2000-01-01&to=2999-12-31")
    expect(page.locator("#metrics-title")).to_be_visible()
    expect(page.locator("#kpi-complete")).to_contain_text("1 of 1 (100.0 %)")
    assert page.locator("script:not([src])").count() == 0  # no inline script; the menu's is a file
    for chart in CHARTS:
        figure = page.locator(f"#{chart}")
        expect(figure).to_be_visible()
        bars = figure.locator("svg rect.bar")
        assert bars.count() > 0, f"{chart} has no data"
        widths = [float(bars.nth(i).get_attribute("width") or 0) + float(bars.nth(i).get_attribute("height") or 0)
                  for i in range(bars.count())]
        assert max(widths) > 12, f"{chart}: bars too small to see: {widths}"
        box = figure.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 40
        shot = tmp_path / f"{chart}.png"
        figure.screenshot(path=str(shot))
        assert shot.stat().st_size > 2000
    # charts take their colours from presentation attributes, not (CSP-blocked) style attributes
    assert page.locator("svg [style]").count() == 0
    assert page.locator("#chart-refusals rect.bar").first.get_attribute("fill") == "#000000"  # Okabe-Ito black
    page.emulate_media(media="print")
    expect(page.locator("header.top nav")).to_be_hidden()
    expect(page.locator("form.filters")).to_be_hidden()
    expect(page.locator("#chart-weekly svg")).to_be_visible()
    page.screenshot(path=str(tmp_path / "audit-print.png"), full_page=True)
    page.pdf(path=str(tmp_path / "audit.pdf"))
    assert (tmp_path / "audit.pdf").read_bytes()[:5] == b"%PDF-"
    page.emulate_media(media="screen")
    with page.expect_download() as info:
        page.get_by_role("link", name="Control report (HTML)").click()
    report = Path(info.value.path()).read_text(encoding="utf-8")
    assert "Change-management control report" in report and 'class="bar"' in report and "RESULT: OK" in report
