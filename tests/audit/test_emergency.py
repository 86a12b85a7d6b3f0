"""Emergency changes (SPEC §7, §10): who may break glass, the deadline, retro-approval, overdue."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from gatekeeper.audit import exceptions, register
from gatekeeper.policy.emergency import parse_ts, retro_overdue
from tests.audit.conftest import World, change, period
from tests.support.git import Repo
from tests.support.service import Service

DEADLINE = re.compile(r"retrospective approval due by (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z): (\S+)$")


def test_allowed_emergency_push_prints_url_and_deadline(world: World) -> None:
    lines = world.pushes["emergency3"].lines
    assert "EMERGENCY change request 3 deployed to refs/heads/main: line 3 down" in lines
    m = next(m for m in map(DEADLINE.search, lines) if m)
    assert m.group(2) == f"{world.plant.url}/changes/3"
    cr = change(world, 3)
    assert cr["emergency_deadline"] == m.group(1)
    deployed = parse_ts(cr["deployed_at"])
    assert parse_ts(m.group(1)) == (deployed + timedelta(hours=72)).replace(microsecond=0)


def test_disallowed_user_is_refused(world: World) -> None:
    r = world.pushes["emergency-alice"]
    assert r.rc != 0
    assert "refusing refs/heads/main: alice may not push emergency changes (not in ot-emergency)" in r.lines


def test_logged_as_emergency_with_memberships(world: World) -> None:
    entries = world.service.get("/api/v1/log?limit=1000", "dave").json()["entries"]
    em = [e for e in entries if e["kind"] == "emergency.deployed"]
    assert [(e["actor"], e["payload"]["change_id"], e["payload"]["reason"]) for e in em] == [
        ("erin", 3, "line 3 down"), ("erin", 4, "sensor failed")]
    assert em[0]["payload"]["memberships"] == [{"dn": None, "group": "ot-emergency", "via": ["ot-emergency"]}]
    assert em[0]["payload"]["new"] == world.commits["emergency3"]
    refused = [e for e in entries if e["kind"] == "push.refused" and e["payload"]["emergency"]]
    assert [e["actor"] for e in refused] == ["alice"]


def test_retro_approval_by_the_normal_rules(world: World) -> None:
    assert change(world, 3)["state"] == "retro-approved"
    four = change(world, 4)
    assert four["state"] == "emergency" and four["overdue"] is False
    assert four["approvals_missing"] == [{"group": "ot-engineering-leads", "count": 1}]
    # SoD holds for retrospective approval too: the emergency pusher cannot ratify their own change.
    resp = world.service.sign(4, "erin")
    assert resp.status_code == 403 and "took part in" in resp.json()["error"]["message"]
    assert world.service.sign(4, "bob").status_code == 403
    assert change(world, 4)["state"] == "emergency"


def test_overdue_against_an_injected_now(world: World, services: Any) -> None:
    start, end = period()
    four = change(world, 4)
    before = parse_ts(four["emergency_deadline"]) - timedelta(seconds=1)
    after = parse_ts(four["emergency_deadline"]) + timedelta(seconds=1)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    rows = {r["change_id"]: r for r in register.rows(services, start, end, now=after.strftime(fmt))}
    assert (rows[3]["retro_overdue"], rows[4]["retro_overdue"]) == (False, True)
    assert not any(r["retro_overdue"] for r in register.rows(services, start, end, now=before.strftime(fmt)))
    with services.store.read() as session:
        found = list(exceptions.overdue(session, start, end, after.strftime(fmt)))
    assert [(r["kind"], r["change_id"], r["actor"], r["at"]) for r in found] == [
        ("retro-overdue", 4, "erin", four["emergency_deadline"])]
    assert found[0]["detail"].startswith("no retrospective approval; the deadline")
    assert found[0]["log_seq"] == four["log_seqs"][1]  # change.opened, then emergency.deployed


@pytest.mark.parametrize(("emergency", "retro_approved_at", "state", "now", "expected"), [
    (True, "2026-01-04T10:00:00.000001Z", "retro-approved", "2026-01-01T00:00:00Z", True),  # ratified late
    (True, "2026-01-04T09:59:59.999999Z", "retro-approved", "2027-01-01T00:00:00Z", False),  # in time
    (True, None, "emergency", "2026-01-04T10:00:00.5Z", True),  # still waiting, past the deadline
    (True, None, "emergency", "2026-01-04T10:00:00Z", False),  # due right now
    (False, None, "deployed", "2027-01-01T00:00:00Z", False),
])
def test_overdue_rule(emergency: bool, retro_approved_at: str | None, state: str, now: str,
                      expected: bool) -> None:
    assert retro_overdue(emergency, "2026-01-04T10:00:00Z", retro_approved_at, state, now) is expected


def test_reasonless_no_rule_and_no_file_emergencies(repo: Repo, service: Service) -> None:
    repo.commit({"README.md": "# plant\n"}, "bootstrap")
    assert repo.push("HEAD:refs/heads/main").ok
    assert repo.push("HEAD:refs/heads/release/1").ok  # an exact copy of main
    repo.commit({"docs/runbook.md": "restart line 3\n"}, "runbook")
    r = repo.push("HEAD:refs/heads/main", user="erin", options=("gatekeeper.emergency=",))
    assert r.rc != 0 and any("gatekeeper.emergency needs a reason" in ln for ln in r.lines)
    r = repo.push("HEAD:refs/heads/main", user="erin", options=("gatekeeper.emergency=docs urgent",))
    assert r.ok, r.stderr
    assert any("nothing to approve retrospectively" in ln for ln in r.lines)
    cr = service.get("/api/v1/changes/1", "dave").json()
    assert (cr["state"], cr["emergency"]) == ("retro-approved", True)
    r = repo.push(":refs/heads/release/1", user="erin", options=("gatekeeper.emergency=bad release",))
    assert r.ok, r.stderr
    # Issue 22 item 4: a break-glass deletion is an emergency CR saying exactly what happened; the files
    # the branch held are its files (here docs only: nothing to approve retrospectively).
    assert any(ln.startswith("(deletion of refs/heads/release/1 (was ") for ln in r.lines), r.lines
    entries = service.get("/api/v1/log?limit=1000", "dave").json()["entries"]
    last = [e for e in entries if e["kind"] == "emergency.deployed"][-1]["payload"]
    assert (last["ref"], last["new"]) == ("refs/heads/release/1", "0" * 40) and last["change_id"] == 2
    cr = service.get("/api/v1/changes/2", "dave").json()
    assert cr["emergency"] and cr["title"].startswith("deletion of refs/heads/release/1 (was ")
    assert [f["status"] for f in cr["files"]] == ["deleted"]
