"""The register as XLSX, read back with openpyxl: one sheet, frozen header, filter, widths, types."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

from gatekeeper.audit import register
from gatekeeper.audit.xlsx import write_xlsx
from gatekeeper.policy.emergency import parse_ts
from tests.audit.conftest import FORMULA_TITLE, SPEC_COLUMNS, World, change, export


def test_workbook_layout_and_types(world: World, out: Path) -> None:
    wb = load_workbook(export(world, "xlsx", out))
    assert wb.sheetnames == ["register"]
    ws = wb["register"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:Y5"
    assert [c.value for c in ws[1]] == SPEC_COLUMNS
    assert all(c.font.b for c in ws[1])
    assert ws.column_dimensions["D"].width == 40  # title
    assert ws.column_dimensions["M"].width == 60  # approvals
    rows = {r[0].value: {c: cell for c, cell in zip(SPEC_COLUMNS, r, strict=True)}
            for r in ws.iter_rows(min_row=2)}
    assert list(rows) == [1, 2, 3, 4]
    one = rows[1]
    assert one["financial"].value is True and one["financial"].data_type == "b"
    assert one["emergency"].value is False and one["retro_overdue"].value is False
    assert one["revision"].value == 1
    requested = one["requested_at"]
    assert requested.is_date and requested.number_format == "yyyy-mm-dd hh:mm:ss"
    api = change(world, 1)
    expected = parse_ts(api["requested_at"]).replace(tzinfo=None)
    assert isinstance(requested.value, datetime)
    assert abs((requested.value - expected).total_seconds()) < 0.001  # Excel keeps milliseconds
    assert one["approved_at"].is_date and one["deployed_at"].is_date
    assert one["approvals_required"].value == "finance-controllers×1; ot-engineering-leads×1"
    assert one["log_seqs"].value == " ".join(str(s) for s in api["log_seqs"])
    assert one["deployed_commit"].value == world.commits["deploy1"]
    title = rows[2]["title"]
    assert title.value == FORMULA_TITLE and title.data_type == "s"  # text, never a formula
    assert rows[2]["approved_at"].value is None
    assert rows[4]["emergency"].value is True and rows[4]["state"].value == "emergency"


def test_empty_register_and_awkward_text() -> None:
    buf = io.BytesIO()
    assert write_xlsx(buf, register.COLUMNS, []) == 0
    ws = load_workbook(io.BytesIO(buf.getvalue()))["register"]
    assert ws.auto_filter.ref == "A1:Y1" and ws.max_row == 1
    buf = io.BytesIO()
    rows = [{"change_id": 7, "title": "bell\x07 and =cmd", "requested_at": "not a time",
             "approvals": "x" * 40000, "categories": ["a", "b"]}]
    assert write_xlsx(buf, register.COLUMNS, rows) == 1
    ws = load_workbook(io.BytesIO(buf.getvalue()))["register"]
    cells = {c: cell.value for c, cell in zip(register.COLUMNS, ws[2], strict=True)}
    assert cells["title"] == "bell\ufffd and =cmd"
    assert cells["requested_at"] == "not a time"
    assert len(cells["approvals"]) == 32767
    assert cells["categories"] == "a; b"
