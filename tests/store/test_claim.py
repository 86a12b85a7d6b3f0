"""Scheduled work claimed once (``store.claim``): the one whose transaction moves the due time runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gatekeeper.store.claim import claim, postpone
from gatekeeper.store.db import Store
from gatekeeper.store.tables import Setting

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific SQL here


def test_a_job_is_claimed_once_until_it_is_due_again(store: Store) -> None:
    later = NOW + timedelta(hours=1)
    assert claim(store, "job.next_run_at", later, NOW)  # never run: due
    assert not claim(store, "job.next_run_at", later, NOW + timedelta(minutes=59))
    with store.read() as s:
        assert s.get(Setting, "job.next_run_at").value == "2026-12-01T11:00:00.000000Z"  # type: ignore[union-attr]
    assert claim(store, "job.next_run_at", later + timedelta(hours=1), later)
    assert claim(store, "other.next_run_at", later, NOW)  # each job its own key


def test_a_failed_run_gives_its_turn_back(store: Store) -> None:
    assert claim(store, "job.next_run_at", NOW + timedelta(days=1), NOW)
    with store.write() as s:
        postpone(s, "job.next_run_at", NOW + timedelta(minutes=5))
    assert not claim(store, "job.next_run_at", NOW + timedelta(days=1), NOW + timedelta(minutes=4))
    assert claim(store, "job.next_run_at", NOW + timedelta(days=1), NOW + timedelta(minutes=5))
