"""Rate limits in the database (``store.ratelimit``): fixed one-minute windows, counted across workers."""

from __future__ import annotations

import pytest

from gatekeeper.store import ratelimit
from gatekeeper.store.db import Store

T0 = 1_800_000_000.0  # a window boundary (divisible by 60)


def test_requests_count_within_a_window_and_start_over_in_the_next(store: Store) -> None:
    assert ratelimit.hit(store, "login\x1f10.0.0.1", T0) == (1, 61)
    assert ratelimit.hit(store, "login\x1f10.0.0.1", T0 + 20) == (2, 41)
    assert ratelimit.hit(store, "login\x1f10.0.0.2", T0 + 20) == (1, 41)  # another key, its own count
    assert ratelimit.hit(store, "login\x1f10.0.0.1", T0 + 59.5)[0] == 3
    assert ratelimit.hit(store, "login\x1f10.0.0.1", T0 + 60) == (1, 61)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_stores_on_one_database_count_together(store: Store) -> None:
    other = Store(store.url, create=False)
    try:
        ratelimit.hit(store, "api", T0)
        assert ratelimit.hit(other, "api", T0 + 1)[0] == 2
    finally:
        other.dispose()
