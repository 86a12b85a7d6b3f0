"""Scheduled work inside the service, once across workers and hosts: drift checks every
``drift.interval_minutes``, the daily access snapshot (``actions.access.run_due``, issue 24) and the
newest automatic checkpoint sent to the witnesses (``witness.client.run_due``, issue 21).

Every worker of every host runs a small timer thread; before a run each one tries to *claim* it:
in one serialised write transaction (``store.claim``) it reads the job's ``*.next_run_at`` setting
and, when due, moves it ahead (one interval, or to the next UTC midnight). Only the worker whose
transaction moved it runs the job, so N gunicorn workers on M hosts sharing the database run each
scheduled job once. A worker that dies mid-run costs that run only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from gatekeeper.actions.context import Services
from gatekeeper.store.claim import claim as store_claim
from gatekeeper.store.db import Store

logger = logging.getLogger(__name__)
NEXT_RUN = "drift.next_run_at"
TICK_SECONDS = 30.0
"""How often a worker looks whether a run is due (runs start at most this late)."""


def claim(store: Store, interval_minutes: int, now: datetime | None = None) -> bool:
    """True for exactly one caller per interval (across processes sharing the database)."""
    now = now or datetime.now(UTC)
    return store_claim(store, NEXT_RUN, now + timedelta(minutes=interval_minutes), now)


def run_due(services: Services) -> bool:
    """Run the checks when this worker claims the run; True when it ran them."""
    from gatekeeper.drift.check import run_checks

    cfg = services.config.drift
    if cfg.interval_minutes <= 0 or not cfg.sources:
        return False
    if not claim(services.store, cfg.interval_minutes, services.clock()):
        return False
    results = run_checks(services, trigger="schedule")
    for result in results:
        if result.state != "in line":
            logger.warning("drift check: %s", result.line())
    return True


Job = tuple[str, Callable[[Services], bool]]


class Scheduler:
    """The timer thread of one worker (a daemon: it never keeps a stopping worker alive)."""

    def __init__(self, services: Services, tick: float = TICK_SECONDS, jobs: Sequence[Job] = ()) -> None:
        self.services, self.tick = services, tick
        self.jobs = list(jobs) or [("drift check", run_due)]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="gatekeeper-schedule", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _loop(self) -> None:
        while not self.stopped.is_set():
            for name, job in self.jobs:
                try:
                    ran = job(self.services)
                except Exception:  # a failed run is logged and retried when next due; the thread lives on
                    logger.exception("scheduled %s failed", name)
                else:  # debug only: what an operator (or a test) reads to see a round was decided
                    logger.debug("scheduled %s: %s", name, "ran here" if ran else "not run here")
            self.stopped.wait(self.tick)


def start(services: Services) -> Scheduler | None:
    """Start the timer for what is configured: drift checks (``drift.interval_minutes`` > 0 and
    sources), the daily access snapshot (``access.daily_snapshot``) and the witnesses
    (``[[ledger.witnesses]]``)."""
    cfg = services.config.drift
    jobs: list[Job] = []
    tick = TICK_SECONDS
    if cfg.interval_minutes > 0 and cfg.sources:
        jobs.append(("drift check", run_due))
        tick = min(tick, cfg.interval_minutes * 60)
    if services.config.access.daily_snapshot:
        from gatekeeper.actions.access import run_due as snapshot_due

        jobs.append(("access snapshot", snapshot_due))
    if services.config.ledger.witnesses:
        from gatekeeper.witness.client import run_due as witnesses_due

        jobs.append(("witness cosignatures", witnesses_due))
    if not jobs:
        return None
    scheduler = Scheduler(services, tick, jobs)
    scheduler.start()
    return scheduler
