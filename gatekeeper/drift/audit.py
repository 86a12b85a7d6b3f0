"""Drift in the auditor's exports: ``drift.csv`` of the evidence pack and the ``drift`` exceptions.

``drift.csv`` (SPEC §11: ``ts, repo, source, path, state, summary, log_seq``) has one row per
``drift.checked`` entry of the period, so it shows the control operating (every check, in line or
not). ``exceptions.csv`` gets one ``drift`` row per ``drift.detected`` and ``drift.error`` entry:
what an auditor follows up. Both are read from the hash-chained log, each row naming its entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from gatekeeper.drift import DRIFT_CHECKED, DRIFT_DETECTED, DRIFT_ERROR
from gatekeeper.store.tables import ChangeLog
from gatekeeper.verifier import tables


def _entries(session: Session, kinds: tuple[str, ...], start: str, end: str, batch: int = 1000,
             newest_first: bool = False, limit: int | None = None) -> Iterator[ChangeLog]:
    after, before, seen = 0, None, 0
    while True:
        q = select(ChangeLog).where(col(ChangeLog.kind).in_(kinds), col(ChangeLog.ts) >= start,
                                    col(ChangeLog.ts) < end)
        if newest_first:
            q = q.where(col(ChangeLog.seq) < before) if before is not None else q
            q = q.order_by(col(ChangeLog.seq).desc())
        else:
            q = q.where(col(ChangeLog.seq) > after).order_by(col(ChangeLog.seq))
        chunk = session.exec(q.limit(batch)).all()
        for row in chunk:
            yield row
            seen += 1
            if limit is not None and seen >= limit:
                return
        if len(chunk) < batch:
            return
        after, before = chunk[-1].seq, chunk[-1].seq


def drift_rows(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    """``drift.csv``: every check of the period."""
    for e in _entries(session, (DRIFT_CHECKED,), start, end):
        yield tables.drift_row(e.seq, e.ts, json.loads(e.payload))


def drift_exceptions(session: Session, start: str, end: str, *, newest_first: bool = False,
                     limit: int | None = None) -> Iterator[dict[str, Any]]:
    """``exceptions.csv`` rows of kind ``drift``: each drift detected and each unreadable source."""
    for e in _entries(session, (DRIFT_DETECTED, DRIFT_ERROR), start, end, newest_first=newest_first, limit=limit):
        yield tables.drift_exception_row(e.seq, e.ts, e.kind, e.actor, json.loads(e.payload))
