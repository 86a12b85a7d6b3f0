"""Sign-in and "sign out everywhere" (``actions.sessions``): the session and its log entry together,
at the time of the clock handed in."""

from __future__ import annotations

from datetime import UTC, datetime

from gatekeeper.actions.context import Services
from gatekeeper.actions.sessions import revoke_everywhere, sign_in
from gatekeeper.clock import Manual
from gatekeeper.store import log
from gatekeeper.store import sessions as web_sessions

IDLE, ABSOLUTE = 30 * 60, 12 * 3600


def test_a_sign_in_is_a_session_and_a_log_entry_at_the_same_time(services: Services) -> None:
    clock = Manual(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    token = sign_in(services.store, "carol", "10.0.0.1", clock)
    with services.store.read() as s:
        [entry] = [e for e in log.entries(s) if e.kind == "auth.signed_in"]
    assert (entry.actor, entry.ts, entry.payload) == ("carol", "2026-12-01T08:00:00.000000Z",
                                                      {"username": "carol", "client": "10.0.0.1"})
    now = clock.advance(minutes=5).timestamp()
    assert web_sessions.lookup(services.store, token, now, IDLE, ABSOLUTE).username == "carol"


def test_sign_out_everywhere_ends_every_session_and_is_logged_with_who_did_it(services: Services) -> None:
    clock = Manual(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    tokens = [sign_in(services.store, "carol", client, clock) for client in ("pc", "tablet")]
    other = sign_in(services.store, "bob", "pc", clock)
    clock.advance(minutes=1)
    assert revoke_everywhere(services.store, "carol", "frank", "page", clock) == 2
    now = clock().timestamp()
    assert {web_sessions.lookup(services.store, t, now, IDLE, ABSOLUTE).reason for t in tokens} == {"revoked"}
    assert web_sessions.lookup(services.store, other, now, IDLE, ABSOLUTE).username == "bob"
    with services.store.read() as s:
        [entry] = [e for e in log.entries(s) if e.kind == "session.revoked"]
    assert (entry.actor, entry.payload) == ("frank", {"username": "carol", "sessions": 2, "via": "page"})
    assert entry.ts == "2026-12-01T08:01:00.000000Z"
    assert revoke_everywhere(services.store, "carol", "frank", "api", clock) == 0  # nothing open: still logged
