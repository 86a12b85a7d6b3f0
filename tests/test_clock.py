"""The one clock (``gatekeeper.clock``): aware UTC times, fixed or moved by hand in tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatekeeper.clock import Manual, fixed, system


def test_clocks_tell_aware_utc_times() -> None:
    assert system().tzinfo is UTC
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert fixed(at)() == at
    with pytest.raises(ValueError, match="aware"):
        fixed(datetime(2026, 12, 1, 8, 0))


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = Manual(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert clock() == clock() == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert clock.advance(minutes=31) == datetime(2026, 12, 1, 8, 31, tzinfo=UTC) == clock()
