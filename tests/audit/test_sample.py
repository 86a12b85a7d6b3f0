"""``audit sample``: the same seed draws the same changes; each comes with its trail."""

from __future__ import annotations

import json

from gatekeeper.audit.sample import pick
from tests.audit.conftest import PERIOD, World, change, cli


def test_pick_is_reproducible_and_bounded() -> None:
    ids = list(range(1, 101))
    assert pick(ids, 25, "fy2026") == pick(list(reversed(ids)), 25, "fy2026")
    assert len(pick(ids, 25, "fy2026")) == 25 and pick(ids, 25, "fy2026") == sorted(pick(ids, 25, "fy2026"))
    assert pick(ids, 25, "fy2026") != pick(ids, 25, "fy2027")
    assert pick([3, 1, 2], 25, "x") == [1, 2, 3] and pick([], 5, "x") == []


def sample(world: World, *args: str) -> tuple[str, str]:
    rc, out, err = cli(world.plant, "audit", "sample", "--from", PERIOD[0], "--to", PERIOD[1], *args)
    assert rc == 0, err
    return out, err


def test_sample_json_trail(world: World) -> None:
    out, err = sample(world, "--size", "4", "--seed", "S", "--format", "json")
    data = json.loads(out)
    assert (data["population"], data["change_ids"], data["seed"]) == (4, [1, 2, 3, 4], "S")
    assert "sampled 4 of 4 change requests with seed S" in err
    one = data["changes"][0]
    api = change(world, 1)
    assert one["revisions"][0]["fingerprint"] == api["fingerprint"]
    assert one["revisions"][0]["commits"][0]["subject"] == "map line 1 to GL 4711"
    assert one["files"] == [{"path": "erp/notes.txt", "status": "added", "categories": ["erp-mapping"],
                             "semantic_changes": one["files"][0]["semantic_changes"]}]
    assert [(s["username"], s["group"], s["decision"]) for s in one["signatures"]] == [
        ("bob", "finance-controllers", "approve"), ("carol", "ot-engineering-leads", "approve")]
    assert [(g["decision"], g["pusher"]) for g in one["gate"]] == [("push.allowed", "alice")]
    assert one["gate"][0]["refs"][0]["new"] == world.commits["deploy1"]
    assert one["deployed_commit"] == world.commits["deploy1"]
    assert [e["seq"] for e in one["log"]] == api["log_seqs"]
    assert [e["kind"] for e in one["log"]][-3:] == ["deploy.intent", "change.deployed", "push.allowed"]
    three = data["changes"][2]
    # Every gate decision on the deployed commit: the refused attempts, then erin's break-glass.
    assert [(g["decision"], g["pusher"], g["emergency"]) for g in three["gate"]] == [
        ("push.refused", "alice", None), ("push.refused", "alice", "line 3 down"),
        ("push.allowed", "erin", "line 3 down")]
    assert three["emergency_reason"] == "line 3 down" and three["retro_approved_at"]


def test_same_seed_same_sample_in_markdown(world: World) -> None:
    first, _ = sample(world, "--size", "2", "--seed", "audit-2026")
    again, _ = sample(world, "--size", "2", "--seed", "audit-2026")
    assert first == again
    assert first.startswith("# Sample of changes ")
    assert "Seed: `audit-2026`" in first and first.count("\n## Change request ") == 2
    out, err = sample(world, "--size", "1")
    assert "with seed " in err and out.count("\n## Change request ") == 1
