"""Fixed-window rate limits kept in the database, so every worker and host counts together.

flask-limiter was the first choice, but its storage backends (the ``limits`` package: memory,
Redis, Memcached, MongoDB) include none over SQL, and the memory one is per process; adding Redis
only for this was not worth another stateful service. A one-minute window per key is enough to
blunt floods; the precise brute-force control is ``directory.lockout``."""

from __future__ import annotations

from sqlalchemy import case, delete, select

from gatekeeper.store.db import Store
from gatekeeper.store.tables import RateCounter

WINDOW = 60


def hit(store: Store, key: str, now: float) -> tuple[int, int]:
    """Count one request for ``key``; returns (requests in this window, seconds until it ends)."""
    window = int(now // WINDOW)
    with store.side_write() as s:
        if store.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        stmt = insert(RateCounter).values(key=key, window=window, count=1)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
            "count": case((RateCounter.window == window, RateCounter.count + 1), else_=1),  # type: ignore[arg-type]
            "window": window})
        s.execute(stmt)
        count = s.execute(select(RateCounter.count).where(RateCounter.key == key)).scalar_one()  # type: ignore[arg-type,call-overload]
        if window % 10 == 0 and count == 1:  # now and then, forget old windows
            s.execute(delete(RateCounter).where(RateCounter.window < window - 1))  # type: ignore[arg-type]
    return int(count), int(WINDOW - now % WINDOW) + 1

