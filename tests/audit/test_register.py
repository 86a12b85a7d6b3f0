"""The change register from real pushes and signatures: columns, values, CSV guard, JSON, API."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.audit import register, writers
from gatekeeper.period import parse_period
from tests.audit.conftest import FORMULA_TITLE, PERIOD, RFC3339, SPEC_COLUMNS, World, change, export, kinds
from tests.support.git import gatekeeper


def test_columns_are_the_spec_columns_in_order() -> None:
    assert list(register.COLUMNS) == SPEC_COLUMNS


def test_csv_rows_hold_exact_values(world: World, out: Path) -> None:
    with export(world, "csv", out).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == SPEC_COLUMNS
    by_id = {r[0]: dict(zip(SPEC_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert list(by_id) == ["1", "2", "3", "4"]
    one = by_id["1"]
    cr1 = change(world, 1)
    fixed = ("repo", "target", "title", "categories", "financial", "ticket", "requested_by", "revision",
             "approvals_required", "sod_findings", "deployed_by", "emergency", "emergency_reason",
             "retro_approved_at", "retro_overdue", "state")
    assert {k: one[k] for k in fixed} == {
        "repo": "plant-a-ot", "target": "main", "title": "map line 1 to GL 4711", "categories": "erp-mapping",
        "financial": "true", "ticket": "CHG-1", "requested_by": "alice", "revision": "1",
        "approvals_required": "finance-controllers×1; ot-engineering-leads×1", "sod_findings": "",
        "deployed_by": "alice", "emergency": "false", "emergency_reason": "", "retro_approved_at": "",
        "retro_overdue": "false", "state": "deployed"}
    assert one["fingerprint"] == cr1["fingerprint"]
    assert one["deployed_commit"] == world.commits["deploy1"]
    signed = {a["username"]: a for a in cr1["approvals"]}
    assert one["approvals"] == (
        f"bob (finance-controllers, Reviewed and approved, {signed['bob']['signed_at']}); "
        f"carol (ot-engineering-leads, Reviewed and approved, {signed['carol']['signed_at']})")
    assert one["approved_at"] == signed["carol"]["signed_at"]
    for key in ("requested_at", "approved_at", "deployed_at"):
        assert RFC3339.fullmatch(one[key]), key
    seqs = [int(s) for s in one["log_seqs"].split(" ")]
    assert seqs == cr1["log_seqs"]
    assert kinds(world, seqs) == ["change.opened", "change.approved", "change.approved", "deploy.intent",
                                  "change.deployed", "push.allowed"]
    two = by_id["2"]
    assert (two["state"], two["approvals"], two["approved_at"], two["deployed_at"]) == (
        "rejected", "", "", "")
    assert kinds(world, [int(s) for s in two["log_seqs"].split()]) == ["change.opened", "change.rejected",
                                                                       "change.commented"]
    three, four = by_id["3"], by_id["4"]
    assert (three["emergency"], three["emergency_reason"], three["state"], three["requested_by"]) == (
        "true", "line 3 down", "retro-approved", "erin")
    assert RFC3339.fullmatch(three["retro_approved_at"]) and three["approved_at"] == ""
    assert three["deployed_commit"] == world.commits["emergency3"]
    assert (four["state"], four["retro_approved_at"], four["retro_overdue"]) == ("emergency", "", "false")
    # (signatures other tests tried on change 4 and were refused are logged too: change.sign_refused)
    four_kinds = [k for k in kinds(world, [int(s) for s in four["log_seqs"].split()]) if k != "change.sign_refused"]
    assert four_kinds == ["change.opened", "emergency.deployed"]


def test_csv_neutralises_formula_cells(world: World, out: Path) -> None:
    """Through the console script in a subprocess, as an auditor runs it."""
    r = gatekeeper(world.plant, "audit", "export", "--from", PERIOD[0], "--to", PERIOD[1], "-o",
                   str(out / "r.csv"))
    assert r.returncode == 0, r.stderr
    text = (out / "r.csv").read_text(encoding="utf-8")
    row = next(r for r in csv.reader(io.StringIO(text)) if r[0] == "2")
    assert row[3] == "'" + FORMULA_TITLE
    assert "\n=" not in text and ",=" not in text


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("plain", "plain"), ("a=b", "a=b"), ("", ""),
])
def test_safe_cell(value: str, cell: str) -> None:
    assert writers.safe_cell(value) == cell


def test_json_has_the_same_columns_and_typed_values(world: World, out: Path) -> None:
    data = json.loads(export(world, "json", out).read_text(encoding="utf-8"))
    assert [list(r) for r in data] == [SPEC_COLUMNS] * 4
    one = data[0]
    assert one["change_id"] == 1 and one["financial"] is True and one["emergency"] is False
    assert one["approvals_required"] == [{"count": 1, "group": "finance-controllers"},
                                         {"count": 1, "group": "ot-engineering-leads"}]
    assert one["categories"] == ["erp-mapping"] and one["log_seqs"] == change(world, 1)["log_seqs"]
    assert data[1]["title"] == FORMULA_TITLE  # JSON carries the exact text


def test_period_selects_by_key_moments(world: World, services: Any) -> None:
    assert list(register.rows(services, *parse_period("2000-01-01", "2000-01-02"))) == []
    at = change(world, 3)["retro_approved_at"]
    # A window of one instant, on CR 3's retrospective approval, finds CR 3 alone.
    assert [r["change_id"] for r in register.rows(services, *parse_period(at, at))] == [3]


def test_api_register_is_for_auditors(world: World) -> None:
    q = f"/api/v1/audit/register?from={PERIOD[0]}&to={PERIOD[1]}&format=csv"
    resp = world.service.get(q, "dave")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert resp.text.splitlines()[0] == ",".join(SPEC_COLUMNS)
    assert len(resp.text.splitlines()) == 5
    assert world.service.get(q, "alice").status_code == 403
