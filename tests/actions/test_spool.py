"""Refusals the hook made without the service, logged later (``actions.spool``)."""

from __future__ import annotations

from gatekeeper.actions import push
from gatekeeper.actions.context import Services
from gatekeeper.gitio import spool as hookspool
from tests.actions.conftest import TOKEN
from tests.actions.test_push import MAIN_OLD, payloads, req


def test_spooled_refusals_are_logged_as_refusals_with_when_they_happened(services: Services) -> None:
    spooled = [{"pusher": "mallory", "push_options": [], "refused_at": "2026-01-02T03:04:05Z",
                "reason": "service unreachable",
                "refs": [{"ref": "refs/heads/main", "old": MAIN_OLD, "new": "e" * 40}]}]
    sealed = [{"file": "spool/1.json", "kind": "spool", "repo": "plant-a-ot", "record": r,
               "mac": hookspool.seal("spool", "plant-a-ot", r, TOKEN)} for r in spooled]
    out = push.record_push(services, req([], state=sealed))
    assert out["rejected"] == []
    p = payloads(services, "push.refused")[0]
    assert p["spooled"] is True and p["refused_at"] == "2026-01-02T03:04:05Z" and p["pusher"] == "mallory"
