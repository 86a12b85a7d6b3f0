"""Text echoed to a terminal (issue 22 item 10): control characters shown, never obeyed.

A file name, a commit subject or a title can hold escape sequences (``\\x1b[2J``), carriage
returns or bidirectional overrides that would rewrite what the pusher's or the operator's terminal
shows (a fake ``remote: gatekeeper: allowed`` line). Every line the hooks print and the CLI writes
goes through ``escape``. Standard library only, and nothing imported: the hooks run it on every push.
"""

from __future__ import annotations

# Bidirectional formatting characters (Unicode UAX #9): they reorder what follows on screen.
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}


def _shown(ch: str) -> str:
    cp = ord(ch)
    if (cp < 0x20 and ch != "\t") or 0x7F <= cp <= 0x9F:
        return f"\\x{cp:02x}"
    if cp in _BIDI:
        return f"\\u{cp:04x}"
    return ch


def escape(text: str) -> str:
    """``text`` with every control character (C0 but tab, DEL, C1) shown as ``\\xNN`` and every
    bidirectional control as ``\\uNNNN``: one line, drawn as written."""
    if text.isprintable():
        return text
    return "".join(_shown(ch) for ch in text)
