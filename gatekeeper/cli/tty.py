"""What the CLI writes to a terminal (issue 22 item 10): control characters shown, never obeyed.

A CR title, a file name or a log payload can hold escape sequences that would rewrite the operator's
screen. While ``stdout`` or ``stderr`` is a terminal, every write goes through ``terminal.escape``
(line ends kept); pipes and files get the bytes unchanged (JSON and CSV for programs).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from gatekeeper.terminal import escape

_LINE_END = re.compile(r"(\r?\n)")


class Shown:
    """A text stream that escapes control characters before they reach ``inner`` (a terminal)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.encoding, self.errors = inner.encoding, inner.errors  # click checks them to reuse this stream

    def write(self, text: str) -> int:
        parts = _LINE_END.split(text)
        self.inner.write("".join(part if i % 2 else escape(part) for i, part in enumerate(parts)))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True


def _terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False


@contextmanager
def shown_on_terminals() -> Iterator[None]:
    """``sys.stdout``/``sys.stderr`` wrapped in ``Shown`` while they are terminals."""
    saved = sys.stdout, sys.stderr
    if _terminal(sys.stdout):
        sys.stdout = Shown(sys.stdout)  # type: ignore[assignment]
    if _terminal(sys.stderr):
        sys.stderr = Shown(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
