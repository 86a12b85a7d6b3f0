"""The lockout counters in the database (``directory.lockout.Counters``), shared by every worker and
host. Used inside one write transaction (``Store.write``), which is serialised: concurrent failures
for one name, on any worker, are counted one after the other and a lock is imposed exactly once."""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from sqlmodel import Session

from gatekeeper.directory.lockout import Counter
from gatekeeper.store.tables import AuthCounter


class SqlCounters:
    """``Counters`` over ``auth_counter`` rows, read and written through ``session``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: str) -> Counter | None:
        row = self.session.get(AuthCounter, key)
        if row is None:
            return None
        return Counter(failures=[float(t) for t in json.loads(row.failures)], locked_until=row.locked_until,
                       locks=row.locks, last=row.last)

    def put(self, key: str, counter: Counter) -> None:
        row = self.session.get(AuthCounter, key) or AuthCounter(key=key)
        row.failures = json.dumps(counter.failures)
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
