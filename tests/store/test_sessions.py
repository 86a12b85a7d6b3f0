"""Server-side web sessions (``store.sessions``): only a token's digest is stored; timeouts and
sign-outs hold for every worker. Times are passed in (epoch seconds), never read from the clock."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import select

from gatekeeper.store import sessions
from gatekeeper.store.db import Store
from gatekeeper.store.tables import WebSession

T0 = 1_800_000_000.0
IDLE, ABSOLUTE = 30 * 60, 12 * 3600

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific SQL here


def test_a_session_is_found_by_its_token_and_only_the_digest_is_stored(store: Store) -> None:
    token = sessions.create(store, "carol", "10.0.0.1", T0)
    with store.read() as s:
        [row] = s.exec(select(WebSession)).all()
    assert row.id == hashlib.sha256(token.encode()).hexdigest() and token not in row.id
    assert sessions.lookup(store, token, T0 + 60, IDLE, ABSOLUTE) == sessions.Lookup("carol", "")
    assert sessions.lookup(store, "made-up", T0, IDLE, ABSOLUTE) == sessions.Lookup(None, sessions.UNKNOWN)
    assert sessions.create(store, "carol", "10.0.0.1", T0) != token  # a fresh id at every sign-in


def test_idle_and_absolute_timeouts_and_the_touch(store: Store) -> None:
    token = sessions.create(store, "carol", "", T0)
    assert sessions.lookup(store, token, T0 + IDLE + 1, IDLE, ABSOLUTE).reason == sessions.IDLE
    for minutes in range(20, 12 * 60, 20):  # active every 20 minutes: never idle ...
        assert sessions.lookup(store, token, T0 + minutes * 60, IDLE, ABSOLUTE).username == "carol"
    assert sessions.lookup(store, token, T0 + ABSOLUTE + 1, IDLE, ABSOLUTE).reason == sessions.EXPIRED  # ... but ends
    with store.read() as s:
        assert s.exec(select(WebSession.last_seen)).one() > T0  # the lookups touched it


def test_sign_out_and_sign_out_everywhere(store: Store) -> None:
    one, two, other = (sessions.create(store, u, "", T0) for u in ("carol", "carol", "bob"))
    sessions.revoke(store, one, T0 + 1, "carol")
    assert sessions.lookup(store, one, T0 + 2, IDLE, ABSOLUTE).reason == sessions.REVOKED
    assert sessions.open_counts(store, T0 + 2, IDLE, ABSOLUTE) == [("bob", 1, T0), ("carol", 1, T0)]
    assert sessions.revoke_user(store, "carol", T0 + 3, "frank") == 1
    assert sessions.lookup(store, two, T0 + 4, IDLE, ABSOLUTE).reason == sessions.REVOKED
    assert sessions.lookup(store, other, T0 + 4, IDLE, ABSOLUTE).username == "bob"
    assert sessions.revoke_user(store, "carol", T0 + 5, "frank") == 0


def test_prune_keeps_a_day_past_the_absolute_end(store: Store) -> None:
    sessions.create(store, "carol", "", T0)
    assert sessions.prune(store, T0 + ABSOLUTE + 3600, ABSOLUTE) == 0
    assert sessions.prune(store, T0 + ABSOLUTE + 86_401, ABSOLUTE) == 1
