"""Access review campaigns (``actions.access_review``) on real SQLite and PostgreSQL with the file
directory: opening, deciding row by row, signing, and the revocations the next snapshots check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatekeeper.actions import access
from gatekeeper.actions import access_review as campaigns
from gatekeeper.actions.context import Services
from gatekeeper.audit import access as pack
from gatekeeper.audit.exceptions import exception_rows
from gatekeeper.audit.metrics import compute
from gatekeeper.errors import Conflict, Forbidden, InputError
from gatekeeper.ledger import events as ev
from gatekeeper.policy.people import User
from gatekeeper.store.tables import ChangeLog
from tests.actions.test_access import DAVE, DAY1, DAY2, MALLORY, kinds
from tests.support.access import ACCESS_GROUPS, make_access_plant, services, set_groups
from tests.support.plant import Plant
from tests.support.postgres import db_url, pg_database, pg_server, pg_url  # noqa: F401  (fixtures)


@pytest.fixture
def on_both(db_url: str, tmp_path: Path) -> Iterator[tuple[Services, Plant]]:  # noqa: F811
    plant = make_access_plant(tmp_path / "both", database=db_url)
    s = services(plant)
    yield s, plant
    s.store.dispose()


def test_a_campaign_from_opening_to_signature_and_revocation(on_both: tuple[Services, Plant]) -> None:
    svc, plant = on_both
    with pytest.raises(Forbidden, match="alice needs the access_reviewers role"):
        campaigns.open_review(svc, User("alice", "Alice", "a@x"))
    review_id = campaigns.open_review(svc, MALLORY, "plant-a-ot")
    with pytest.raises(Conflict, match="already open"):
        campaigns.open_review(svc, DAVE, "plant-a-ot")
    with svc.store.read() as s:
        rows = {json.loads(r.columns)["username"] + ":" + json.loads(r.columns)["right"] + ":"
                + json.loads(r.columns)["category"]: r.position for r in campaigns.rows_of(s, review_id, limit=1000)}
    dave_row, grace_rows = rows["dave:audit:"], [p for k, p in rows.items() if k.startswith("grace:")]
    with pytest.raises(Forbidden, match=r"dave cannot decide row \d+: it is about their own access"):
        campaigns.decide(svc, review_id, DAVE, [dave_row], "keep")
    with pytest.raises(InputError, match="a comment is required to revoke"):
        campaigns.decide(svc, review_id, MALLORY, grace_rows, "revoke")
    assert campaigns.decide(svc, review_id, MALLORY, grace_rows, "revoke", "left in January") == len(grace_rows)
    with pytest.raises(Conflict, match=r"already decided .*decisions are final"):
        campaigns.decide(svc, review_id, DAVE, grace_rows[:1], "keep")
    with pytest.raises(Conflict, match=r"undecided row\(s\)"):
        campaigns.sign(svc, review_id, MALLORY)
    others = [p for p in rows.values() if p not in grace_rows]
    campaigns.decide(svc, review_id, MALLORY, others, "keep", "needed on shift")
    seq = campaigns.sign(svc, review_id, MALLORY, comment="Q1 review")
    with pytest.raises(Conflict, match="is signed; it takes no more decisions"):
        campaigns.decide(svc, review_id, MALLORY, [1], "keep")
    with svc.store.read() as s:
        signed = ev.AccessReviewSigned.from_payload(json.loads(s.get(ChangeLog, seq).payload))  # type: ignore[union-attr]
    assert (signed.rows, signed.revoked, signed.kept) == (len(rows), len(grace_rows), len(rows) - len(grace_rows))
    assert {m["group"] for m in signed.memberships} == {"access-reviewers"}
    assert {r.username for r in signed.revocations} == {"grace"}

    # the next snapshot finds the revoked rights still held: an exception; the one after, gone
    access.take_snapshot(svc, DAY1)
    with svc.store.read() as s:
        found = [e for e in exception_rows(s, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", DAY1)
                 if e["kind"] == "access-revocation-open"]
        figures = compute(svc, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", reconcile=False, session=s)
    assert len(found) == len(grace_rows) and all(e["actor"] == "grace" for e in found)
    assert f"revoked in access review {review_id}" in found[0]["detail"]
    assert figures["access_conflicts"] == 1 and figures["dormant_accounts"] == 0
    assert "access_reviews_signed" in figures
    set_groups(plant, {**ACCESS_GROUPS, "ot-engineering-leads": (["carol", "gina"], [])})
    closed = access.take_snapshot(svc, DAY2)
    assert closed is not None
    snap = ev.AccessSnapshot.from_payload(closed.payload)
    assert not snap.revocations_open and len(snap.revocations_closed) == len(grace_rows)
    with svc.store.read() as s:
        assert not list(pack.revocation_exceptions(s, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"))
        decided = list(pack.review_rows(s, "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"))
    assert len(decided) == len(rows) and {r["decided_by"] for r in decided} == {"mallory"}
    assert kinds(svc).count(ev.ACCESS_DECIDED) == len(rows)
