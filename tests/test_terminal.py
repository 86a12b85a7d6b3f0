"""``gatekeeper.terminal.escape``: control characters are shown, never obeyed (issue 22 item 10)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.terminal import escape


def test_escape_sequences_are_shown_not_obeyed() -> None:
    assert escape("plc\x1b[2J.xml") == "plc\\x1b[2J.xml"
    assert escape("a\rremote: gatekeeper: allowed") == "a\\x0dremote: gatekeeper: allowed"
    assert escape("line\nnext") == "line\\x0anext"
    assert escape("del\x7f c1\x9b") == "del\\x7f c1\\x9b"
    assert escape("name\u202egnp.exe") == "name\\u202egnp.exe"


def test_printable_text_and_tabs_are_unchanged() -> None:
    for text in ("Rezept Müller – Linie 3", "a\tb", "", "日本語 ✓"):
        assert escape(text) == text


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_escaped_text_holds_no_control_character(text: str) -> None:
    shown = escape(text)
    assert all(ch == "\t" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) for ch in shown)
    assert "\n" not in shown and "\x1b" not in shown
