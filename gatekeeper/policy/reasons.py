"""Reason codes (SPEC §12): every refusal, finding and SoD reason is a ``Reason(code, message)``.

The code (``<area>.<reason>``) is stable and listed in docs/codes.md (a test keeps the two equal);
the message is the sentence people read and may be reworded. Decisions make their reasons here
(``reason(Code.X, "…")``), the log and the API carry both, and metrics and pages count codes only.
"""

from __future__ import annotations

from collections.abc import Iterable

from gatekeeper.ledger.events.base import Reason
from gatekeeper.policy.codes import PRECEDENCE, Code, area, code_rank

__all__ = ["PRECEDENCE", "Code", "Reason", "area", "messages", "primary", "reason"]


def reason(code: Code, message: str) -> Reason:
    return Reason(code.value, message)


def messages(reasons: Iterable[Reason]) -> tuple[str, ...]:
    """The sentences, for people (the hook's lines, the pages)."""
    return tuple(r.message for r in reasons)


def primary(reasons: Iterable[Reason]) -> Reason | None:
    """The reason that names a refusal (``PRECEDENCE``); None for none."""
    return min(reasons, key=lambda r: code_rank(r.code), default=None)
