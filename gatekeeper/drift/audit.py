"""Drift in the auditor's exports: ``drift.csv`` of the evidence pack and the ``drift`` exceptions.

``drift.csv`` (SPEC §11: ``ts, repo, source, path, state, summary, log_seq``) has one row per
``drift.checked`` entry of the period, so it shows the control operating (every check, in line or
not). ``exceptions.csv`` gets one ``drift`` row per ``drift.detected`` and ``drift.error`` entry:
what an auditor follows up. Both are read from the hash-chained log, each row naming its entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel import Session

from gatekeeper.ledger.events import (
    DRIFT_CHECKED,
    DRIFT_DETECTED,
    DRIFT_ERROR,
    DriftChecked,
    DriftDetected,
    DriftError,
)
from gatekeeper.store import log

DRIFT_COLUMNS = ("ts", "repo", "source", "path", "state", "summary", "log_seq")


def drift_rows(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    """``drift.csv``: every check of the period."""
    for e in log.of_kinds(session, [DRIFT_CHECKED], start=start, end=end):
        c = DriftChecked.from_payload(e.payload)
        yield {"ts": e.ts, "repo": c.repo, "source": c.source, "path": c.path, "state": c.result,
               "summary": c.summary, "log_seq": e.seq}


def drift_exceptions(session: Session, start: str, end: str, *, newest_first: bool = False,
                     limit: int | None = None) -> Iterator[dict[str, Any]]:
    """``exceptions.csv`` rows of kind ``drift``: each drift detected and each unreadable source."""
    for e in log.of_kinds(session, [DRIFT_DETECTED, DRIFT_ERROR], start=start, end=end, newest_first=newest_first,
                          limit=limit):
        d: DriftDetected | DriftError
        if e.kind == DRIFT_DETECTED:
            d = DriftDetected.from_payload(e.payload)
            what, change_id = f"drift detected: {d.summary}", d.matches_change
        else:
            d = DriftError.from_payload(e.payload)
            what, change_id = f"source cannot be read: {d.error}", None
        yield {"kind": "drift", "at": e.ts, "actor": e.actor, "repo": d.repo, "ref": None,
               "change_id": change_id, "detail": f"{d.source} ({d.path}): {what}", "log_seq": e.seq}
