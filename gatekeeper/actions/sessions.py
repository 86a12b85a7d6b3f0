""""Sign out everywhere" (issue 12): one use case for the admin page, the API and the CLI; and the
sign-in record that the access review's ``last_activity`` reads (issue 24)."""

from __future__ import annotations

import time

from gatekeeper.ledger import events as ev
from gatekeeper.store import log
from gatekeeper.store import sessions as web_sessions
from gatekeeper.store.db import Store


def revoke_everywhere(store: Store, username: str, by: str, via: str) -> int:
    """End every open web session of ``username`` on every worker and host; logged as
    ``session.revoked`` (an administrator's action on someone's access is evidence). Returns how many
    sessions were open."""
    n = web_sessions.revoke_user(store, username, time.time(), by)
    with store.write() as session:
        log.append(session, ev.SessionRevoked(username=username, sessions=n, via=via), by)
    return n


def sign_in(store: Store, username: str, client: str) -> str:
    """A new web session for ``username``, logged as ``auth.signed_in`` in the same transaction: the
    last sign-in is part of a person's activity (an account nobody signs in to shows as dormant in the
    access review), and the log never holds a sign-in that made no session, nor the reverse."""
    event = ev.AuthSignedIn(username=username, client=client)
    return web_sessions.create(store, username, client, time.time(), record=lambda s: log.append(s, event, username))
