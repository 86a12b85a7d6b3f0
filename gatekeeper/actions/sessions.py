""""Sign out everywhere" (issue 12): one use case for the admin page, the API and the CLI; and the
sign-in record that the access review's ``last_activity`` reads (issue 24)."""

from __future__ import annotations

from gatekeeper.clock import Clock, system
from gatekeeper.ledger import events as ev
from gatekeeper.period import format_ts
from gatekeeper.store import log
from gatekeeper.store import sessions as web_sessions
from gatekeeper.store.db import Store


def revoke_everywhere(store: Store, username: str, by: str, via: str, clock: Clock = system) -> int:
    """End every open web session of ``username`` on every worker and host; logged as
    ``session.revoked`` (an administrator's action on someone's access is evidence). Returns how many
    sessions were open."""
    now = clock()
    n = web_sessions.revoke_user(store, username, now.timestamp(), by)
    with store.write() as session:
        log.append(session, ev.SessionRevoked(username=username, sessions=n, via=via), by, ts=format_ts(now))
    return n


def sign_in(store: Store, username: str, client: str, clock: Clock = system) -> str:
    """A new web session for ``username``, logged as ``auth.signed_in`` in the same transaction: the
    last sign-in is part of a person's activity (an account nobody signs in to shows as dormant in the
    access review), and the log never holds a sign-in that made no session, nor the reverse."""
    event, now = ev.AuthSignedIn(username=username, client=client), clock()
    return web_sessions.create(store, username, client, now.timestamp(),
                               record=lambda s: log.append(s, event, username, ts=format_ts(now)))
