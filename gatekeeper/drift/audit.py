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

from gatekeeper.ledger.events import DRIFT_CHECKED, DRIFT_DETECTED, DRIFT_ERROR
from gatekeeper.store import log
from gatekeeper.verifier import tables

DRIFT_COLUMNS = tables.DRIFT_COLUMNS


def drift_rows(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    """``drift.csv``: every check of the period (the row is the pack projection's, ``verifier.tables``)."""
    for e in log.of_kinds(session, [DRIFT_CHECKED], start=start, end=end):
        yield tables.drift_row(e.seq, e.ts, e.payload)


def drift_exceptions(session: Session, start: str, end: str, *, newest_first: bool = False,
                     limit: int | None = None) -> Iterator[dict[str, Any]]:
    """``exceptions.csv`` rows of kind ``drift``: each drift detected and each unreadable source."""
    for e in log.of_kinds(session, [DRIFT_DETECTED, DRIFT_ERROR], start=start, end=end, newest_first=newest_first,
                          limit=limit):
        yield tables.drift_exception_row(e.seq, e.ts, e.kind, e.actor, e.payload)
