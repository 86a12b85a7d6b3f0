"""Which log entries become notification events (and which never do)."""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.ledger import events as ev
from gatekeeper.notify.events import Snapshot
from gatekeeper.policy.notices import for_event


@pytest.mark.parametrize(("kind", "payload", "events"), [
    ("change.opened", {"state": "pending"}, ["change.waiting"]),
    ("change.revised", {"state": "pending"}, ["change.waiting"]),
    ("change.opened", {"state": "approved"}, []),            # nothing to approve: nobody to wait for
    ("change.opened", {"state": "emergency"}, []),           # told as emergency.opened instead
    ("change.approved", {"state": "pending"}, []),           # one of several signatures
    ("change.approved", {"state": "approved"}, ["change.approved"]),
    ("change.approved", {"state": "retro-approved"}, ["change.approved"]),
    ("change.rejected", {"state": "rejected"}, ["change.rejected"]),
    ("change.deployed", {"change_id": 3}, ["change.deployed"]),
    ("change.deployed", {"change_id": None}, []),            # a copy or a no-approval change
    ("emergency.deployed", {"change_id": 4, "state": "emergency"}, ["emergency.opened"]),
    ("emergency.deployed", {"change_id": None}, []),
    ("push.refused", {}, ["push.refused"]),
    ("drift.detected", {"repo": "plant-a-ot"}, ["drift.detected"]),
    ("push.allowed", {}, []),
    ("change.withdrawn", {}, []),
    ("notify.sent", {"change_id": 3, "event": "change.deployed"}, []),   # no notification about notifications
    ("notify.failed", {"change_id": 3}, []),
    ("log.checkpoint", {}, []),
    ("config.loaded", {}, []),
])
def test_events_for(kind: str, payload: dict[str, Any], events: list[str]) -> None:
    assert for_event(ev.parse(kind, payload)) == events


def test_snapshot_leaves_bulky_fields_in_the_log() -> None:
    opened = ev.ChangeOpened(change_id=1, title="t", files=(ev.FileRecord("a"),) * 1000, state="pending",
                             author_memberships=({"group": "g"},))
    data = Snapshot.of(opened).to_payload()
    assert "files" not in data and "author_memberships" not in data
    assert (data["change_id"], data["title"], data["state"]) == (1, "t", "pending")
