"""The access review from the database's log, for the pages and the API (SPEC §12, issue 24); the
pack's files are the projection's (``verifier.access``), whose row builders these share:

- ``access-review.csv``: one row per ``access.decided`` entry of every campaign with an entry in the
  period (opened, decided or signed in it): the row as reviewed, ``decision, decided_by, decided_at,
  log_seq``;
- ``access-changes.csv``: the rights gained, lost and changed by the ``access.snapshot`` entries of
  the period, replayed from the first snapshot (``actions.access.change_rows``);
- ``exceptions.csv`` kind ``access-revocation-open``: a right a signed review revoked that the last
  snapshot of the period still found;
- the metrics ``access_reviews_signed``, ``access_conflicts``, ``dormant_accounts``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import IO, Any

from sqlmodel import Session

from gatekeeper.actions.access import CHANGE_COLUMNS, Review, change_rows
from gatekeeper.audit.writers import write_csv
from gatekeeper.audit.xlsx import write_xlsx
from gatekeeper.errors import InputError
from gatekeeper.ledger import events as ev
from gatekeeper.policy.access import COLUMNS
from gatekeeper.store import log
from gatekeeper.verifier.access import REVIEW_COLUMNS, review_row, revocation_row

__all__ = ["CHANGE_COLUMNS", "REVIEW_COLUMNS", "change_rows", "metrics", "review_rows", "revocation_exceptions"]
_CAMPAIGN_KINDS = (ev.ACCESS_REVIEW_OPENED, ev.ACCESS_DECIDED, ev.ACCESS_REVIEW_SIGNED)


def campaigns_in(session: Session, start: str, end: str, upto: int | None = None) -> set[int]:
    """The campaigns with an entry in ``[start, end)``."""
    found: set[int] = set()
    for e in log.of_kinds(session, _CAMPAIGN_KINDS, start=start, end=end, upto=upto, batch=2000):
        event = ev.parse(e.kind, e.payload)
        assert isinstance(event, ev.AccessReviewOpened | ev.AccessDecided | ev.AccessReviewSigned)
        found.add(event.review_id)
    return found


def review_rows(session: Session, start: str, end: str, upto: int | None = None) -> Iterator[dict[str, Any]]:
    """``access-review.csv``: every decision of the period's campaigns, as its log entry records it."""
    wanted = campaigns_in(session, start, end, upto)
    if not wanted:
        return
    for e in log.of_kinds(session, [ev.ACCESS_DECIDED], upto=upto, batch=2000):
        d = ev.AccessDecided.from_payload(e.payload)
        if d.review_id in wanted:
            yield review_row(e.seq, e.ts, e.actor, d.columns, d.decision)


def revocation_exceptions(session: Session, start: str, end: str) -> Iterator[dict[str, Any]]:
    """Revoked rights the last snapshot of the period still found, one row each."""
    last = _last_snapshot(session, end, start)
    if last is None:
        return
    seq, ts, snap = last
    for r in snap.revocations_open:
        yield revocation_row(seq, ts, snap.day, r.to_payload())


def _last_snapshot(session: Session, end: str, start: str | None = None
                   ) -> tuple[int, str, ev.AccessSnapshot] | None:
    """The last ``access.snapshot`` logged before ``end`` (and at or after ``start``)."""
    for e in log.of_kinds(session, [ev.ACCESS_SNAPSHOT], start=start, end=end, newest_first=True, limit=1):
        return e.seq, e.ts, ev.AccessSnapshot.from_payload(e.payload)
    return None


def metrics(session: Session, start: str, end: str) -> dict[str, Any]:
    """Reviews signed in the period; conflicts and dormant people as of the period's last snapshot."""
    signed = sum(1 for _ in log.of_kinds(session, [ev.ACCESS_REVIEW_SIGNED], start=start, end=end))
    last = _last_snapshot(session, end)
    summary = last[2].summary if last else {}
    return {"access_reviews_signed": signed, "access_conflicts": summary.get("conflict_pairs"),
            "dormant_accounts": summary.get("dormant")}


# -- the review as a file (``gatekeeper access review``, the /access page) ------------------------
FORMATS = ("csv", "json", "xlsx")


def summary_lines(review: Review) -> list[tuple[str, Any]]:
    """The summary that heads the export: one (name, value) per line, conflicts per code."""
    s = review.summary
    return [("generated_at", review.at), ("repo", review.repo or "every repo"), ("people", s["people"]),
            ("rows", s["rows"]), *((f"conflict {code}", n) for code, n in s["conflicts"].items()),
            ("dormant", s["dormant"])]


def write_review(review: Review, fmt: str, out: IO[bytes]) -> int:
    """The review as csv (the columns only: the summary goes elsewhere), json (``summary`` then
    ``rows``) or xlsx (a ``summary`` sheet, then ``access``); returns the number of rows."""
    rows = [r.to_dict() for r in review.rows]
    if fmt == "xlsx":
        return write_xlsx(out, COLUMNS, rows, title="access", head=summary_lines(review))
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        if fmt == "csv":
            return write_csv(text, COLUMNS, rows)
        if fmt == "json":
            json.dump({"generated_at": review.at, "repo": review.repo, "summary": review.summary, "rows": rows},
                      text, ensure_ascii=False, indent=1)
            text.write("\n")
            return len(rows)
        raise InputError(f"format must be one of: {', '.join(FORMATS)}")
    finally:
        text.flush()
        text.detach()
