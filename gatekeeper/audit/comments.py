"""``comments.csv`` of the evidence pack (issue 25): the discussion of every change request in the period.

One row per ``change.commented`` entry, read from the hash-chained log and naming its entry, so an
auditor sees what reviewers said next to what they signed (``approvals.csv``) and can check each row
against ``log.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel import Session

from gatekeeper.ledger.events import CHANGE_COMMENTED, ChangeCommented
from gatekeeper.store import log

COMMENT_COLUMNS = ("change_id", "revision", "path", "username", "name", "comment", "at", "log_seq")


def comment_rows(session: Session, start: str, end: str, upto: int | None = None) -> Iterator[dict[str, Any]]:
    for e in log.of_kinds(session, [CHANGE_COMMENTED], start=start, end=end, upto=upto):
        c = ChangeCommented.from_payload(e.payload)
        yield {"change_id": c.change_id, "revision": c.revision, "path": c.path or "",
               "username": c.commenter or e.actor, "name": c.name, "comment": c.comment, "at": e.ts, "log_seq": e.seq}
