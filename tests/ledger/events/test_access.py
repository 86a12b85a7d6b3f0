"""Access review log kinds (``ledger.events.access``): snapshots with revocations, campaigns, decisions."""

from __future__ import annotations

from gatekeeper.ledger import events as ev


def test_a_snapshot_keeps_its_diff_and_typed_revocations() -> None:
    open_ = ev.Revocation(review_id=2, row=5, decided_seq=40, username="dave", right="push", repo="plant-a-ot")
    snap = ev.AccessSnapshot(day="2026-12-01", previous_seq=30, rights_sha256="s" * 64, count=12,
                             gained=(("dave", "push", "plant-a-ot"),), summary={"people": 4},
                             revocations_open=(open_,))
    back = ev.parse("access.snapshot", snap.to_payload())
    assert back == snap and isinstance(back.revocations_open[0], ev.Revocation)
    assert snap.to_payload()["gained"] == [["dave", "push", "plant-a-ot"]]


def test_a_campaign_opens_decides_row_by_row_and_is_signed() -> None:
    kinds = [ev.AccessReviewOpened(review_id=2, repo="", rows=3, rows_sha256="r" * 64, name="Ivy Reviewer"),
             ev.AccessDecided(review_id=2, row=1, columns={"username": "dave"}, decision="revoke", comment="left"),
             ev.AccessReviewSigned(review_id=2, rows=3, kept=2, revoked=1, signer="ivy", meaning="Reviewed",
                                   memberships=({"group": "it-sec", "via": ["it-sec"], "dn": None},))]
    assert [k.KIND for k in kinds] == ["access.review_opened", "access.decided", "access.review_signed"]
    for event in kinds:
        assert ev.parse(event.KIND, event.to_payload()) == event
