"""Run scheduled work once across workers and hosts (drift checks, the daily access snapshot).

A job's next run time is a ``setting`` row; ``claim`` reads it and, when due, moves it ahead in one
serialised write transaction (SQLite ``BEGIN IMMEDIATE``, PostgreSQL the store's advisory lock), so of
N workers on M hosts sharing the database exactly one wins each run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from gatekeeper.store.db import Store
from gatekeeper.store.tables import Setting

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def claim(store: Store, key: str, following: datetime, now: datetime | None = None) -> bool:
    """True for exactly one caller while ``key`` is due; the next run is then due at ``following``."""
    stamp = (now or datetime.now(UTC)).strftime(FORMAT)
    with store.write() as session:
        row = session.get(Setting, key)
        if row is not None and row.value > stamp:
            return False
        postpone(session, key, following)
    return True


def postpone(session: Session, key: str, until: datetime) -> None:
    """Set ``key``'s next run to ``until`` (in the caller's write transaction): a failed run gives
    its turn back this way, so a later tick tries again."""
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=until.strftime(FORMAT)))
    else:
        row.value = until.strftime(FORMAT)
