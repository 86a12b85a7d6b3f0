"""Lockout counters in the database (``store.counters``): what ``directory.lockout`` keeps, kept per key."""

from __future__ import annotations

import pytest

from gatekeeper.directory.lockout import Counter
from gatekeeper.store.counters import SqlCounters
from gatekeeper.store.db import Store

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific SQL here


def test_a_counter_round_trips_and_is_deleted(store: Store) -> None:
    counter = Counter(failures=[100.0, 101.5], locked_until=400.0, locks=2, last=101.5)
    with store.write() as s:
        counters = SqlCounters(s)
        assert counters.get("carol\x1fid") is None
        counters.put("carol\x1fid", counter)
    with store.write() as s:
        counters = SqlCounters(s)
        assert counters.get("carol\x1fid") == counter
        counters.put("carol\x1fid", Counter(failures=[], locks=2, last=500.0))  # an update, not a second row
        assert counters.get("carol\x1fid") == Counter(failures=[], locks=2, last=500.0)
        counters.delete("carol\x1fid")
        assert counters.get("carol\x1fid") is None


def test_prune_drops_idle_counters_but_never_a_live_lock(store: Store) -> None:
    with store.write() as s:
        counters = SqlCounters(s)
        counters.put("idle", Counter(failures=[10.0], last=10.0))
        counters.put("locked", Counter(failures=[10.0], last=10.0, locked_until=5000.0, locks=1))
        counters.put("recent", Counter(failures=[990.0], last=990.0))
        counters.prune(now=1000.0, horizon=500.0, max_entries=10)
        assert counters.get("idle") is None
        assert counters.get("locked") is not None and counters.get("recent") is not None
