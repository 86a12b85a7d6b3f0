"""What "now" is, in one place, so that it can be passed in (SPEC: times are UTC).

Code that records or judges time takes a ``Clock``, a function returning an aware UTC ``datetime``,
defaulting to ``system``; the service's wiring hands the same one to every use case
(``actions.context.Services.clock``). Tests pass ``fixed(...)`` (or a clock they move themselves),
so nothing they check depends on when they run. The stored text form is ``period.format_ts``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def fixed(at: datetime) -> Clock:
    """A clock that always says ``at`` (an aware datetime)."""
    if at.tzinfo is None:
        raise ValueError("a clock tells aware (UTC) times")
    return lambda: at


class Manual:
    """A clock that says what it is set to until moved (``advance``): for tests of timeouts and schedules."""

    def __init__(self, at: datetime) -> None:
        self.now = fixed(at)()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
