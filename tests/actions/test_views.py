"""The CR as JSON (``actions.views``): which approvals count now, what is missing, overdue."""

from __future__ import annotations

from datetime import UTC, datetime

from gatekeeper.actions.context import Services
from gatekeeper.actions.views import change_json, is_overdue
from gatekeeper.store.tables import ChangeRequest
from tests.actions.test_push import approve, topic


def test_an_approval_of_older_content_is_shown_but_does_not_count(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    first = change_json(services, cid)
    assert first["state"] == "approved" and first["approvals_missing"] == []
    assert [(a["username"], a["counts"]) for a in first["approvals"]] == [("carol", True)]
    assert first["url"] == services.change_url(cid) and first["log_seqs"]
    topic(services, "refs/heads/t", ("cfg/a.txt", "A2"))
    now = change_json(services, cid)
    assert now["state"] == "pending" and now["revision"] == 2 and len(now["revisions"]) == 2
    assert [(a["username"], a["counts"]) for a in now["approvals"]] == [("carol", False)]
    assert now["approvals_missing"] == [{"group": "ot-engineering-leads", "count": 1}]
    assert [f["path"] for f in now["files"]] == ["cfg/a.txt"] and now["overdue"] is False


def test_overdue_is_an_emergency_past_its_deadline_not_yet_ratified() -> None:
    cr = ChangeRequest(repo="r", topic_ref="refs/heads/main", target="main", state="emergency", requested_by="erin",
                       requested_at="2026-12-01T10:00:00Z", emergency=True, emergency_deadline="2026-12-04T10:00:00Z")
    before, after = datetime(2026, 12, 4, 9, 59, tzinfo=UTC), datetime(2026, 12, 4, 10, 1, tzinfo=UTC)
    assert not is_overdue(cr, before) and is_overdue(cr, after)
    cr.state = "retro-approved"
    assert not is_overdue(cr, after)
    cr.state, cr.emergency = "pending", False
    assert not is_overdue(cr, after)
