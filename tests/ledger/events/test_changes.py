"""CR log kinds (``ledger.events.changes``): revisions with their files and findings, signatures."""

from __future__ import annotations

from gatekeeper.ledger import events as ev


def test_a_revision_round_trips_with_files_findings_and_rules() -> None:
    opened = ev.ChangeOpened(change_id=1, repo="plant-a-ot", topic_ref="refs/heads/cr/tt101", target="main",
                             revision=1, fingerprint="f" * 64, head="h" * 40, pusher="alice", title="Raise TT-101",
                             files=(ev.FileRecord("tags/tt.json", "M", ("scada-tags",)),),
                             sod_findings=(ev.Reason("sod.unknown_co_author", "x@ext.example unknown"),),
                             state="pending", categories=("scada-tags",),
                             approvals_required=({"group": "leads", "count": 1},))
    payload = opened.to_payload()
    assert payload["files"] == [{"path": "tags/tt.json", "status": "M", "categories": ["scada-tags"]}]
    assert ev.ChangeOpened.from_payload(payload) == opened
    revised = ev.ChangeRevised(**{**payload, "revision": 2, "approvals_kept": True,  # type: ignore[arg-type]
                                  "emergency_reason": "trip"})
    assert ev.parse("change.revised", revised.to_payload()).emergency_reason == "trip"


def test_signatures_and_withdrawals() -> None:
    approved = ev.ChangeApproved(change_id=1, revision=1, fingerprint="f", signer="carol", group="leads",
                                 state="approved", ticket="CHG1", ticket_state="Scheduled")
    assert ev.parse("change.approved", approved.to_payload()) == approved
    rejected = ev.ChangeRejected(change_id=1, signer="bob", state="rejected")
    assert rejected.KIND == "change.rejected" and "ticket" not in rejected.to_payload()
    refused = ev.SignRefused(change_id=1, signer="alice", decision="approve",
                             reasons=(ev.Reason("sod.self", "took part"),))
    assert ev.SignRefused.from_payload(refused.to_payload()) == refused
    withdrawn = ev.ChangeWithdrawn(change_id=1, reason="superseded", state="withdrawn")
    assert ev.parse("change.withdrawn", withdrawn.to_payload()) == withdrawn
