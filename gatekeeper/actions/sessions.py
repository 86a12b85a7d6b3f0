""""Sign out everywhere" (issue 12): one use case for the admin page, the API and the CLI."""

from __future__ import annotations

import time

from gatekeeper.ledger.events import SessionRevoked
from gatekeeper.store import log
from gatekeeper.store import sessions as web_sessions
from gatekeeper.store.db import Store


def revoke_everywhere(store: Store, username: str, by: str, via: str) -> int:
    """End every open web session of ``username`` on every worker and host; logged as
    ``session.revoked`` (an administrator's action on someone's access is evidence). Returns how many
    sessions were open."""
    n = web_sessions.revoke_user(store, username, time.time(), by)
    with store.write() as session:
        log.append(session, SessionRevoked(username=username, sessions=n, via=via), by)
    return n
