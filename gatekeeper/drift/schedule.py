"""Drift checks inside the service every ``drift.interval_minutes``, once across workers and hosts.

Every worker of every host runs a small timer thread; before a run each one tries to *claim* it:
in one serialised write transaction (SQLite ``BEGIN IMMEDIATE``, PostgreSQL the store's advisory
lock) it reads the ``drift.next_run_at`` setting and, when due, moves it one interval ahead. Only
the worker whose transaction moved it runs the checks, so N gunicorn workers on M hosts sharing
the database run each scheduled check once. A worker that dies mid-run costs that run only.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from gatekeeper.actions.context import Services
from gatekeeper.store.db import Store
from gatekeeper.store.tables import Setting

logger = logging.getLogger(__name__)
NEXT_RUN = "drift.next_run_at"
TICK_SECONDS = 30.0
"""How often a worker looks whether a run is due (runs start at most this late)."""
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def claim(store: Store, interval_minutes: int, now: datetime | None = None) -> bool:
    """True for exactly one caller per interval (across processes sharing the database)."""
    now = now or datetime.now(UTC)
    stamp = now.strftime(_FORMAT)
    with store.write() as session:
        row = session.get(Setting, NEXT_RUN)
        if row is not None and row.value > stamp:
            return False
        following = (now + timedelta(minutes=interval_minutes)).strftime(_FORMAT)
        if row is None:
            session.add(Setting(key=NEXT_RUN, value=following))
        else:
            row.value = following
    return True


def run_due(services: Services) -> bool:
    """Run the checks when this worker claims the run; True when it ran them."""
    from gatekeeper.drift.check import run_checks

    cfg = services.config.drift
    if cfg.interval_minutes <= 0 or not cfg.sources or not claim(services.store, cfg.interval_minutes):
        return False
    results = run_checks(services, trigger="schedule")
    for result in results:
        if result.state != "in line":
            logger.warning("drift check: %s", result.line())
    return True


class Scheduler:
    """The timer thread of one worker (a daemon: it never keeps a stopping worker alive)."""

    def __init__(self, services: Services, tick: float = TICK_SECONDS) -> None:
        self.services, self.tick = services, tick
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="gatekeeper-drift", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _loop(self) -> None:
        while not self.stopped.is_set():
            try:
                run_due(self.services)
            except Exception:  # a failed run is logged and retried next interval; the thread lives on
                logger.exception("scheduled drift check failed")
            self.stopped.wait(min(self.tick, self.services.config.drift.interval_minutes * 60))


def start(services: Services) -> Scheduler | None:
    """Start the timer when ``drift.interval_minutes`` > 0 and sources are configured."""
    cfg = services.config.drift
    if cfg.interval_minutes <= 0 or not cfg.sources:
        return None
    scheduler = Scheduler(services)
    scheduler.start()
    return scheduler
