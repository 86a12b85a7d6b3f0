"""Screenshots of every page at 390 px (a phone) and 1280 px for the README's "Screens" section.

Builds the demo in a temporary folder, serves it on a free port, signs in as each role with Debian's
Chromium through Playwright and writes ``docs/screens/<page>-<width>.png``, palette-compressed with
Pillow to stay small. Run: ``make screens`` (or ``.venv/bin/python scripts/screens.py``).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screens"
PASSWORD = "demo-password-1"
WIDTHS = {390: 844, 1280: 900}
# (file name, user, path): every page, each as the role that uses it
PAGES = [
    ("login", None, "/login"),
    ("my-work", "carol", "/"),
    ("changes", "carol", "/changes"),
    ("change-sign", "carol", "/changes/2#sign"),
    ("change-diff", "carol", "/changes/2#diff"),
    ("change-sod", "alice", "/changes/2#sod"),
    ("audit", "dave", "/audit?from=2026-01-01&to=2026-12-31"),
    ("log", "dave", "/log"),
    ("access", "frank", "/access"),
    ("drift", "frank", "/drift"),
    ("settings", "alice", "/settings"),
    ("sessions", "frank", "/admin/sessions"),
    ("change-de", "bob", "/changes/2"),  # bob reads German: his language setting
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def save(png: bytes, path: Path) -> None:
    """PNG, quantised to a 128-colour palette: text stays sharp, files stay well under 100 KB."""
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    img.save(path, format="PNG", optimize=True)


def sign_in(page: Page, url: str, user: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form.stack button, form.stack input[type=submit]").first.click()
    page.wait_for_url(url + "/")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    gatekeeper = Path(sys.executable).with_name("gatekeeper")
    with tempfile.TemporaryDirectory() as tmp:
        demo = subprocess.Popen([str(gatekeeper), "demo", "--dir", f"{tmp}/demo", "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp,
                                env={**os.environ, "GATEKEEPER_CONFIG": ""})
        try:
            assert demo.stdout is not None
            for line in demo.stdout:
                if line.startswith("serving"):
                    break
            else:
                raise SystemExit("the demo did not start")
            url = f"http://127.0.0.1:{port}"
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                contexts: dict[str | None, Page] = {}
                for name, user, path in PAGES:
                    page = contexts.get(user)
                    if page is None:
                        page = browser.new_context(viewport={"width": 1280, "height": 900},
                                                   locale="en-GB").new_page()
                        if user:
                            sign_in(page, url, user)
                        if user == "bob":
                            page.goto(url + "/settings")
                            page.locator("#language").select_option("de")
                            page.locator("#timezone").select_option("Europe/Berlin")
                            page.locator("form[action$='/settings/language'] button").click()
                        contexts[user] = page
                    for width, height in WIDTHS.items():
                        page.set_viewport_size({"width": width, "height": height})
                        page.goto(url + path)
                        time.sleep(0.2)  # let the anchor scroll settle before the picture
                        save(page.screenshot(), OUT / f"{name}-{width}.png")
                        print(f"docs/screens/{name}-{width}.png", (OUT / f"{name}-{width}.png").stat().st_size)
                browser.close()
        finally:
            demo.terminate()
            demo.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
