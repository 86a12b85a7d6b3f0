"""Control metrics (SPEC §11) over the audit world's real history, through the library, the API and the pack.

The world (tests/audit/conftest.py): CR 1 financial, approved by bob and carol, deployed; CR 2
rejected; a direct push refused (no approval); alice's emergency push refused; CR 3 erin's
emergency, retro-approved in time; CR 4 erin's emergency, never ratified.
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from gatekeeper import config
from gatekeeper.actions.context import Services
from gatekeeper.audit import metrics, register
from gatekeeper.audit.metrics import approvals_complete, compute, iso_week, quantiles
from gatekeeper.directory import open_directory
from gatekeeper.errors import InputError
from gatekeeper.policy.approvals import Signature
from gatekeeper.store.db import Store
from tests.audit.conftest import PERIOD, World, export, period

SPEC_KEYS = ("requested", "approved", "rejected", "deployed", "withdrawn", "emergency", "emergency_retro_in_time",
             "emergency_retro_late", "emergency_open", "refused_pushes", "deployed_with_complete_approvals",
             "approval_lead_time_hours")


def test_metrics_of_the_world(services: Services) -> None:
    m = compute(services, *period())
    assert {k: m[k] for k in SPEC_KEYS if k != "approval_lead_time_hours"} == {
        "requested": 4, "approved": 1, "rejected": 1, "deployed": 1, "withdrawn": 0, "emergency": 2,
        "emergency_retro_in_time": 1, "emergency_retro_late": 0, "emergency_open": 1, "refused_pushes": 2,
        "deployed_with_complete_approvals": 1}
    assert m["population"] == 4 and m["deployed_with_complete_approvals_share"] == 1.0
    assert m["emergency_share"] == round(2 / 3, 4)
    lead = m["approval_lead_time_hours"]
    assert lead["count"] == 1 and lead["median"] == lead["p90"] and 0 <= lead["median"] < 1
    assert m["refused_pushes_by_reason"] == {"emergency.not_allowed": 1, "gate.unapproved_file": 1}  # codes
    # no push was refused for SoD; signatures other tests tried and were refused (403) are logged and counted
    assert m["sod_refusals"] == m["refused_signatures"] and m["hook_drift"] == 0
    assert m["approvals_required_from_current_policy"] == 0
    assert m["by_category"]["erp-mapping"]["deployed"] == 1 and m["by_category"]["erp-mapping"]["requested"] == 1
    assert sum(w["requested"] for w in m["by_week"]) == 4 and sum(w["refused_pushes"] for w in m["by_week"]) == 2
    # every exception, from the one definition (exceptions.csv), each pointing at its log seq
    # (signatures other test modules have refused in the shared world are sign-refused exceptions too)
    kinds = sorted(e["kind"] for e in m["exceptions"] if e["kind"] != "sign-refused")
    assert kinds == ["emergency", "emergency", "push.refused", "push.refused", "retro-overdue"] or \
        kinds == ["emergency", "emergency", "push.refused", "push.refused"]
    assert all(e["log_seq"] for e in m["exceptions"] if e["kind"] in ("push.refused", "emergency"))


def test_filters_by_repo_and_category(services: Services) -> None:
    m = compute(services, *period(), category="erp-mapping", reconcile=False)
    assert (m["requested"], m["deployed"], m["emergency"], m["rejected"]) == (1, 1, 0, 0)
    assert m["category"] == "erp-mapping" and list(m["by_category"]) == ["erp-mapping"]
    m = compute(services, *period(), repo="plant-a-ot", reconcile=False)
    assert m["requested"] == 4 and m["refused_pushes"] == 2
    with pytest.raises(InputError, match="category 'nope' is not in the policy"):
        compute(services, *period(), category="nope")
    with pytest.raises(InputError, match="repo 'other' is not in the policy"):
        compute(services, *period(), repo="other")


def test_an_empty_period_has_zeros_not_errors(services: Services) -> None:
    m = compute(services, "1990-01-01T00:00:00Z", "1990-02-01T00:00:00Z", reconcile=False)
    assert m["requested"] == m["refused_pushes"] == m["population"] == 0
    assert m["approval_lead_time_hours"] == {"median": None, "p90": None, "count": 0}
    assert m["deployed_with_complete_approvals_share"] is None and m["exceptions"] == []


def test_api_gives_the_same_numbers(world: World, services: Services) -> None:
    q = f"/api/v1/audit/metrics?from={PERIOD[0]}&to={PERIOD[1]}"
    resp = world.service.get(q, "dave")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    expected = compute(services, *period())
    assert {k: body[k] for k in SPEC_KEYS} == {k: expected[k] for k in SPEC_KEYS}
    assert set(body["approval_lead_time_hours"]) >= {"median", "p90"}
    assert world.service.get(q + "&category=erp-mapping", "frank").json()["requested"] == 1
    assert world.service.get(q, "alice").status_code == 403
    assert world.service.get(q).status_code == 401
    bad = world.service.get("/api/v1/audit/metrics?from=2026-01-01", "dave")
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("the query parameters from and to are required")
    bad = world.service.get(q + "&category=<script>", "dave")
    assert bad.status_code == 400 and "is not in the policy" in bad.json()["error"]["message"]
    spec = world.service.get("/api/v1/openapi.json").json()
    assert "/api/v1/audit/metrics" in spec["paths"]


def test_pack_metrics_csv_matches(world: World, services: Services, tmp_path: Path) -> None:
    pack = export(world, "zip", tmp_path)
    with zipfile.ZipFile(pack) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("metrics.csv").decode(), newline="")))
        report = zf.read("report.html").decode()
    values = {r["metric"]: r["value"] for r in rows}
    assert list(rows[0]) == ["metric", "value"]
    for key in SPEC_KEYS[:-1]:
        assert values[key] == str(compute(services, *period(), reconcile=False)[key]), key
    assert "approval_lead_time_hours.median" in values and "approval_lead_time_hours.p90" in values
    assert values["by_category.erp-mapping.deployed"] == "1"
    assert values["refused_pushes_by_reason.gate.unapproved_file"] == "1"
    # the report: period, controls, metrics with charts, reconciliation, exceptions with log links, verification
    for fragment in ("Change-management control report", "Controls as configured", "Segregation of duties",
                     '<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg"', 'class="bar"',
                     "Population and reconciliation to Git", "Git: commits that reached the branch",
                     "/log?before=", "RESULT: OK", "Checkpoint seq", "python3 verify.py"):
        assert fragment in report, fragment
    assert "<script" not in report


def test_quantiles_and_weeks() -> None:
    assert quantiles([1.0, 2.0, 3.0, 4.0, 10.0]) == {"median": 3.0, "p90": 7.6, "count": 5}
    assert iso_week("2026-01-01T10:00:00Z") == "2026-W01" and iso_week("2024-12-30T00:00:00Z") == "2025-W01"


def _row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "change_id": 9, "repo": "r", "target": "main", "categories": ["erp-mapping"], "requested_at":
        "2026-01-05T10:00:00.000000Z", "approved_at": "2026-01-05T12:00:00.000000Z",
        "deployed_at": "2026-01-05T13:00:00.000000Z", "deployed_by": "alice", "emergency": False,
        "retro_approved_at": None, "retro_overdue": False, "state": "deployed", "log_seqs": [3, 7],
        "approvals_required": [{"group": "fin", "count": 1}, {"group": "ot", "count": 1}], "approvals": "x",
        "approvals_given": [Signature("bob", "fin", "m", "2026-01-05T11:00:00.000000Z", "f"),
                            Signature("carol", "ot", "m", "2026-01-05T12:00:00.000000Z", "f")]}
    base.update(kw)
    return base


def test_complete_approvals_are_counted_before_the_deployment() -> None:
    assert approvals_complete(_row())
    late = _row(approvals_given=[Signature("bob", "fin", "m", "2026-01-05T11:00:00.000000Z", "f"),
                                 Signature("carol", "ot", "m", "2026-01-05T14:00:00.000000Z", "f")])
    assert not approvals_complete(late)
    only_bob = [Signature("bob", "fin", "m", "2026-01-05T11:00:00.000000Z", "f")]
    assert not approvals_complete(_row(approvals_given=only_bob))
    tally = metrics.Tally("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    tally.add(_row())
    tally.add(late)
    assert tally.counts["deployed"] == 2 and tally.counts["deployed_with_complete_approvals"] == 1
    (exc,) = tally.incomplete_exceptions()
    assert exc["kind"] == "incomplete-approvals" and exc["change_id"] == 9 and exc["log_seq"] == 7
    assert tally.lead_times == [2.0, 2.0]


@pytest.fixture
def copied(world: World, tmp_path: Path) -> Path:
    """A copy of the world's database, to change it without touching the shared one."""
    dst = tmp_path / "copy.db"
    with sqlite3.connect(world.plant.dir / "gatekeeper.db") as src, sqlite3.connect(dst) as out:
        src.backup(out)
    return dst


def test_approvals_required_is_the_policy_when_the_revision_was_opened(world: World, copied: Path,
                                                                       tmp_path: Path) -> None:
    raw = world.plant.config.read_text()
    stricter = raw.replace('approvals = [ { group = "finance-controllers", count = 1 },',
                           'approvals = [ { group = "finance-controllers", count = 3 },')
    assert stricter != raw
    changed = world.plant.dir / "policy-stricter.toml"
    changed.write_text(stricter)
    cfg = config.load(changed)
    svc = Services(config=cfg, store=Store(f"sqlite:///{copied}"), directory=open_directory(cfg))
    try:
        row = next(r for r in register.rows(svc, *period()) if r["change_id"] == 1)
        assert row["approvals_required_source"] == register.RULES_FROM_REVISION
        assert {"group": "finance-controllers", "count": 1} in row["approvals_required"]
        # a revision recorded before the column existed: today's (stricter) policy, and it says so
        with sqlite3.connect(copied) as conn:
            conn.execute("UPDATE revision SET approvals_required = NULL WHERE change_id = 1")
        row = next(r for r in register.rows(svc, *period()) if r["change_id"] == 1)
        assert row["approvals_required_source"] == register.RULES_FROM_CURRENT_POLICY
        assert {"group": "finance-controllers", "count": 3} in row["approvals_required"]
        m = compute(svc, *period(), reconcile=False)
        assert m["approvals_required_from_current_policy"] == 1
        # under today's stricter rules CR 1's approvals would not be complete: it is listed as an exception
        assert m["deployed_with_complete_approvals"] == 0
        assert [e["change_id"] for e in m["exceptions"] if e["kind"] == "incomplete-approvals"] == [1]
    finally:
        svc.store.dispose()
        changed.unlink()
        shutil.rmtree(tmp_path, ignore_errors=True)
