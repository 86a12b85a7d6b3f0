"""The access review in the pack, from the log (SPEC §12 "Access review", issue 24). Pure, standard library
only (bundled into verify.py).

``AccessLog`` is fed the ``access.*`` entries of seq 1..upto in order (``kinds.py`` hands them on) and
yields:

- ``access-review.csv``: one row per ``access.decided`` entry of every review with an entry in the
  period (opened, decided or signed in it): the row as reviewed, ``decision, decided_by, decided_at,
  log_seq``;
- ``access-changes.csv``: the rights gained, lost and changed by the ``access.snapshot`` entries of
  the period, replayed from the first snapshot (each one must follow from the one before and hash to
  its ``rights_sha256``);
- ``exceptions.csv`` kind ``access-revocation-open``: a right a signed review revoked that the last
  snapshot of the period still found;
- the metrics ``access_reviews_signed``, ``access_conflicts``, ``dormant_accounts``.

``review_problem`` checks what a signed review certifies: its decisions cover its rows once each and
hash to the ``rows_sha256`` / ``decisions_sha256`` it was opened and signed for. The constants are
``policy.access``'s and ``actions.access_review``'s (tests/verifier/test_access.py keeps them equal).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from gatekeeper.ledger.jsoncodec import canon

ACCESS_COLUMNS = ("username", "name", "right", "repo", "category", "group", "via", "conflicts", "last_activity",
                  "dormant")
REVIEW_COLUMNS = (*ACCESS_COLUMNS, "decision", "decided_by", "decided_at", "log_seq")
CHANGE_COLUMNS = ("day", "change", "username", "name", "right", "repo", "category", "group", "via", "disabled",
                  "log_seq")
RIGHTS_DOMAIN = b"gatekeeper.access.v1\x00"
ROWS_DOMAIN = b"gatekeeper.access-review.v1\x00"
DECISIONS_DOMAIN = b"gatekeeper.access-decisions.v1\x00"
REVOCATION_OPEN = "access-revocation-open"


class Decided(NamedTuple):
    """One ``access.decided`` entry."""

    seq: int
    ts: str
    actor: str
    review: Any
    row: Any
    columns: Mapping[str, Any]
    decision: Any


class AccessLog:
    """The access entries of one projection (see the module doc)."""

    def __init__(self, start: str, end: str) -> None:
        self.start, self.end = start, end
        self.state: dict[tuple[Any, ...], list[Any]] = {}
        self.last_snapshot: int | None = None
        self.changes: list[dict[str, Any]] = []
        self.in_period_snapshot: tuple[int, str, Mapping[str, Any]] | None = None   # the last in [start, end)
        self.before_end_summary: Mapping[str, Any] | None = None                    # the last before end
        self.broken: tuple[int, str] | None = None
        self.decided: list[Decided] = []
        self.opened: dict[Any, list[Mapping[str, Any]]] = {}
        self.signed: dict[Any, list[Mapping[str, Any]]] = {}
        self.reviews: set[Any] = set()        # reviews with an entry in the period
        self.signed_in_period = 0

    def _in(self, ts: str) -> bool:
        return self.start <= ts < self.end

    # -- snapshots ------------------------------------------------------------------------------------
    def snapshot(self, seq: int, ts: str, p: Mapping[str, Any]) -> None:
        if ts < self.end:
            self.before_end_summary = p.get("summary") if isinstance(p.get("summary"), Mapping) else {}
        if self._in(ts):
            self.in_period_snapshot = (seq, ts, p)
        if self.broken is not None:
            return
        problem = self._replay(seq, ts, p)
        if problem is not None:
            self.broken = (seq, f"access.snapshot does not replay: {problem}")

    def _replay(self, seq: int, ts: str, p: Mapping[str, Any]) -> str | None:
        if p.get("previous_seq") != self.last_snapshot:
            return f"previous_seq {p.get('previous_seq')} is not the snapshot before ({self.last_snapshot})"
        first, rows = self.last_snapshot is None, []
        for what in ("lost", "changed", "gained"):  # the order ``policy.access.apply`` applies them in
            for item in p.get(what) or ():
                if not _is_right(item):
                    return f"a {what} right is not a right: {item!r}"
                key, held = tuple(item[:5]), self.state.get(tuple(item[:5]))
                if what == "lost" and held != item:
                    return f"lost right {key} was not held as recorded"
                if what == "changed" and (held is None or held == item):
                    return f"changed right {key} was not held, or did not change"
                if what == "gained" and held is not None:
                    return f"gained right {key} was already held"
                if what == "lost":
                    del self.state[key]
                else:
                    self.state[key] = list(item)
                rows.append((what, item))
        digest = hashlib.sha256(RIGHTS_DOMAIN + canon(sorted(self.state.values()))).hexdigest()
        if digest != p.get("rights_sha256") or len(self.state) != p.get("count"):
            return "the replayed rights do not hash to its rights_sha256 (or count)"
        self.last_snapshot = seq
        if self._in(ts):  # as ``actions.access.change_rows`` lists them: gained (baseline), lost, changed
            for name in ("gained", "lost", "changed"):
                label = "baseline" if name == "gained" and first else name
                self.changes.extend(change_row(p.get("day"), label, item, seq) for what, item in rows if what == name)
        return None

    # -- reviews --------------------------------------------------------------------------------------
    def review_entry(self, seq: int, ts: str, actor: str, kind: str, p: Mapping[str, Any]) -> None:
        review = p.get("review_id")
        if self._in(ts):
            self.reviews.add(review)
        if kind == "access.decided":
            self.decided.append(Decided(seq, ts, actor, review, p.get("row"), p.get("columns") or {},
                                        p.get("decision")))
        elif kind == "access.review_opened":
            self.opened.setdefault(review, []).append(p)
        else:
            self.signed.setdefault(review, []).append(p)
            self.signed_in_period += self._in(ts)

    # -- the tables -----------------------------------------------------------------------------------
    def review_rows(self) -> list[dict[str, Any]]:
        return [review_row(d.seq, d.ts, d.actor, d.columns, d.decision) for d in self.decided
                if d.review in self.reviews]

    def revocation_rows(self) -> list[dict[str, Any]]:
        """Revoked rights the last snapshot of the period still found, one row each."""
        if self.in_period_snapshot is None:
            return []
        seq, ts, snap = self.in_period_snapshot
        return [revocation_row(seq, ts, snap.get("day"), r) for r in snap.get("revocations_open") or ()
                if isinstance(r, Mapping)]

    def metrics(self) -> dict[str, Any]:
        """Reviews signed in the period; conflicts and dormant people as of the last snapshot before its end."""
        summary = self.before_end_summary or {}
        return {"access_reviews_signed": self.signed_in_period, "access_conflicts": summary.get("conflict_pairs"),
                "dormant_accounts": summary.get("dormant")}

    def review_problem(self) -> str | None:
        """What is wrong with a signed review of the period (None: each one's decisions are what it certifies)."""
        for review in sorted(self.reviews, key=str):
            signed = self.signed.get(review, [])
            if not signed:
                continue  # still open: nothing is certified yet
            where = f"access review {review}"
            opened = self.opened.get(review, [])
            if len(opened) != 1 or len(signed) != 1:
                return f"{where}: the log holds {len(opened)} opening(s) and {len(signed)} signature(s), not one each"
            mine = [d for d in self.decided if d.review == review]
            at = f"{where} (log seqs {mine[0].seq}..{mine[-1].seq})" if mine else where
            if sorted(d.row for d in mine if isinstance(d.row, int)) != list(range(1, len(mine) + 1)) \
                    or len(mine) != opened[0].get("rows"):
                return f"{at}: its decisions do not cover rows 1..{opened[0].get('rows')} once each"
            items = sorted([d.columns.get(c) for c in ACCESS_COLUMNS] for d in mine)
            rows_hash = hashlib.sha256(ROWS_DOMAIN + canon(items)).hexdigest()
            if not rows_hash == opened[0].get("rows_sha256") == signed[0].get("rows_sha256"):
                return f"{at}: the decided rows do not hash to the rows_sha256 it was opened and signed for"
            decisions = sorted([d.row, d.decision, d.seq] for d in mine)
            if hashlib.sha256(DECISIONS_DOMAIN + canon(decisions)).hexdigest() != signed[0].get("decisions_sha256"):
                return f"{at}: the decisions do not hash to the decisions_sha256 it was signed for"
            revoked = sum(1 for d in mine if d.decision == "revoke")
            if (signed[0].get("kept"), signed[0].get("revoked")) != (len(mine) - revoked, revoked):
                return f"{at}: the signature's kept/revoked counts differ from its decisions"
        return None


def _is_right(item: Any) -> bool:
    """A snapshot item as ``policy.access.Right.from_list`` accepts it (its shape; the right's name is the
    service's business)."""
    return (isinstance(item, list) and len(item) == 8 and all(isinstance(t, str) for t in item[:6])
            and bool(item[0]) and bool(item[4]) and isinstance(item[6], list)
            and all(isinstance(v, str) for v in item[6]) and isinstance(item[7], bool))


def review_row(seq: int, ts: str, actor: str, columns: Mapping[str, Any], decision: Any) -> dict[str, Any]:
    """An ``access-review.csv`` row: one ``access.decided`` entry, the row as reviewed and the decision."""
    return {**{c: columns.get(c) for c in ACCESS_COLUMNS}, "decision": decision, "decided_by": actor,
            "decided_at": ts, "log_seq": seq}


def change_row(day: Any, what: str, item: list[Any], seq: int) -> dict[str, Any]:
    """An ``access-changes.csv`` row (``actions.access.change_row``) from a snapshot item
    ``[username, right, repo, category, group, name, via, disabled]``."""
    return {"day": day, "change": what, "username": item[0], "name": item[5], "right": item[1], "repo": item[2],
            "category": item[3], "group": item[4], "via": " > ".join(item[6]), "disabled": item[7], "log_seq": seq}


def revocation_row(seq: int, ts: str, day: Any, r: Mapping[str, Any]) -> dict[str, Any]:
    """exceptions.csv kind ``access-revocation-open``: one revoked right a snapshot still found."""
    username, category, group = r.get("username", ""), r.get("category", ""), r.get("group", "")
    where = f"{r.get('right', '')} ({category}, {group})" if category else f"{r.get('right', '')} ({group})"
    return {"kind": REVOCATION_OPEN, "at": ts, "actor": username, "repo": r.get("repo") or None, "ref": None,
            "change_id": None, "log_seq": seq,
            "detail": f"{username} still holds {where}, revoked in access review {r.get('review_id', 0)} "
                      f"(row {r.get('row', 0)}, log seq {r.get('decided_seq', 0)}); seen by the access snapshot "
                      f"of {day}"}
