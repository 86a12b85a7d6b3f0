"""The access review as the standalone verifier replays it (``verifier.access``), pure: the same columns
and hash domains as the service, snapshots replayed and hashed as ``policy.access`` hashes them, and a
signed review whose decisions differ from what it certified named. The pack end to end:
tests/audit/test_access_pack.py."""

from __future__ import annotations

import hashlib
from typing import Any

from gatekeeper.actions import access as actions_access
from gatekeeper.actions import access_review
from gatekeeper.ledger.canonical import canon
from gatekeeper.policy import access as pa
from gatekeeper.verifier import access

START, END = "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"
GRACE = pa.Right("grace", "approve", "plant-a-ot", "recipes", "ot-engineering-leads", "Grace",
                 ("ot-engineering-leads",))
ERIN = pa.Right("erin", "emergency", "", "", "ot-emergency", "Erin", ("ot-emergency",))


def test_the_verifier_speaks_the_services_columns_and_domains() -> None:
    assert access.ACCESS_COLUMNS == pa.COLUMNS
    assert (access.RIGHTS_DOMAIN, access.ROWS_DOMAIN) == (pa.RIGHTS_DOMAIN, pa.ROWS_DOMAIN)
    assert access.DECISIONS_DOMAIN == access_review.DECISIONS_DOMAIN
    assert access.CHANGE_COLUMNS == actions_access.CHANGE_COLUMNS


def snapshot(previous: int | None, held: list[pa.Right], **diff: list[pa.Right]) -> dict[str, Any]:
    return {"day": "2026-03-02", "previous_seq": previous, "rights_sha256": pa.rights_hash(held), "count": len(held),
            **{k: [r.to_list() for r in v] for k, v in diff.items()},
            "summary": {"conflict_pairs": 1, "dormant": 2}}


def test_snapshots_replay_into_the_changes_of_the_period_and_a_bad_one_is_named() -> None:
    log = access.AccessLog(START, END)
    log.snapshot(4, "2026-02-28T00:00:05Z", snapshot(None, [GRACE, ERIN], gained=[GRACE, ERIN]))  # before the period
    log.snapshot(9, "2026-03-02T00:00:05Z", snapshot(4, [GRACE], lost=[ERIN]))
    assert log.broken is None
    assert [(r["change"], r["username"], r["via"], r["log_seq"]) for r in log.changes] == [
        ("lost", "erin", "ot-emergency", 9)]
    assert log.metrics() == {"access_reviews_signed": 0, "access_conflicts": 1, "dormant_accounts": 2}
    log.snapshot(12, "2026-03-03T00:00:05Z", snapshot(9, [GRACE], lost=[ERIN]))  # erin lost twice
    assert log.broken == (12, "access.snapshot does not replay: lost right ('erin', 'emergency', '', '', "
                              "'ot-emergency') was not held as recorded")
    forged = access.AccessLog(START, END)
    forged.snapshot(4, "2026-03-02T00:00:05Z", {**snapshot(None, [GRACE], gained=[GRACE]), "count": 2})
    assert forged.broken is not None and "rights_sha256" in forged.broken[1]


def test_a_signed_review_must_hash_to_what_it_certified() -> None:
    rows = [{**dict.fromkeys(pa.COLUMNS, ""), "username": u, "right": "approve", "dormant": False} for u in ("a", "b")]
    rows_hash = pa.rows_hash(rows)

    def review(decisions: list[str]) -> access.AccessLog:
        log = access.AccessLog(START, END)
        log.review_entry(20, "2026-03-05T00:00:00Z", "mallory", "access.review_opened",
                         {"review_id": 1, "rows": 2, "rows_sha256": rows_hash})
        for i, (row, decision) in enumerate(zip(rows, decisions, strict=True), 1):
            log.review_entry(20 + i, "2026-03-05T00:00:00Z", "mallory", "access.decided",
                             {"review_id": 1, "row": i, "columns": row, "decision": decision})
        items = sorted([[1, "keep", 21], [2, "revoke", 22]])  # what was certified: b revoked
        log.review_entry(30, "2026-03-05T00:00:00Z", "mallory", "access.review_signed", {
            "review_id": 1, "rows_sha256": rows_hash, "kept": 1, "revoked": 1,
            "decisions_sha256": hashlib.sha256(access.DECISIONS_DOMAIN + canon(items)).hexdigest()})
        return log

    assert review(["keep", "revoke"]).review_problem() is None
    assert [r["decision"] for r in review(["keep", "revoke"]).review_rows()] == ["keep", "revoke"]
    assert review(["keep", "keep"]).review_problem() == (
        "access review 1 (log seqs 21..22): the decisions do not hash to the decisions_sha256 it was signed for")
