"""The lockout counters in the database (``directory.lockout.Counters``), shared by every worker and
host. Each use is one write transaction that first takes the identity's lock (``lock``: SQLite's
writes are serialised already, PostgreSQL takes a transaction advisory lock on the identity), so
concurrent attempts for one name, on any worker, are counted one after the other and a lock is
imposed exactly once, while other names never wait.

``failures`` holds a JSON list of failure times, or, while checks are in flight, an object
``{"failures": [...], "pending": [...]}`` (no schema change: older rows read as before)."""

from __future__ import annotations

import json
import zlib

from sqlalchemy import delete, select, text
from sqlmodel import Session

from gatekeeper.directory.lockout import Counter
from gatekeeper.store.tables import AuthCounter

_PG_NAMESPACE = 0x67_6B_6C_6B  # "gklk": the lockout's advisory locks among others (two-key form)
_PG_IDENTITY_LOCK = text("SELECT pg_advisory_xact_lock(:k, :h)")


def _identity_hash(user: str) -> int:
    """A signed 32-bit key for one identity; two names sharing one only wait for each other."""
    h = zlib.crc32(user.encode("utf-8"))
    return h - (1 << 32) if h >= 1 << 31 else h


class SqlCounters:
    """``Counters`` over ``auth_counter`` rows, read and written through ``session``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self, user: str) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(_PG_IDENTITY_LOCK, {"k": _PG_NAMESPACE, "h": _identity_hash(user)})

    def get(self, key: str) -> Counter | None:
        row = self.session.get(AuthCounter, key)
        if row is None:
            return None
        stored = json.loads(row.failures)
        failures, pending = (stored, []) if isinstance(stored, list) else (stored["failures"], stored["pending"])
        return Counter(failures=[float(t) for t in failures], locked_until=row.locked_until,
                       locks=row.locks, last=row.last, pending=[float(t) for t in pending])

    def put(self, key: str, counter: Counter) -> None:
        row = self.session.get(AuthCounter, key) or AuthCounter(key=key)
        row.failures = json.dumps({"failures": counter.failures, "pending": counter.pending} if counter.pending
                                  else counter.failures)
        row.locked_until, row.locks, row.last = counter.locked_until, counter.locks, counter.last
        self.session.add(row)

    def delete(self, key: str) -> None:
        self.session.execute(delete(AuthCounter).where(AuthCounter.key == key))  # type: ignore[arg-type]

    def prune(self, now: float, horizon: float, max_entries: int) -> None:
        """Drop counters idle past the window and the longest lock; the table stays small even under
        a flood of made-up names, and a live lock is never dropped."""
        self.session.flush()
        stale = select(AuthCounter.key).where(AuthCounter.last < horizon,  # type: ignore[arg-type,call-overload]
                                              AuthCounter.locked_until <= now).limit(1000)
        keys = list(self.session.execute(stale).scalars())
        if keys:
            self.session.execute(delete(AuthCounter).where(AuthCounter.key.in_(keys)))  # type: ignore[attr-defined]
