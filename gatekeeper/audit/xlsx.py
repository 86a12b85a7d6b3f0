"""The register as an Excel workbook (SPEC §9): one sheet, header frozen, filters on, real dates.

openpyxl's write-only mode streams rows to a temporary file, so memory stays flat however many
rows there are. Excel has no time zones: times are written as UTC datetimes with a date format
(docs/audit.md says so); the header row holds the register's column names unchanged. Text is
always written as text, never as a formula, so a title such as ``=HYPERLINK(...)`` shows as typed
(the XLSX analogue of the CSV guard in ``writers``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.filters import AutoFilter  # type: ignore[import-untyped]

from gatekeeper.audit.register import TIME_COLUMNS, flat
from gatekeeper.policy.emergency import parse_ts

DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
MAX_CELL = 32767  # Excel's limit on characters in a cell
# Widths in characters, chosen for what each column usually holds; anything else gets DEFAULT_WIDTH.
WIDTHS = {
    "change_id": 10, "repo": 16, "target": 14, "title": 40, "categories": 22, "financial": 10, "ticket": 12,
    "requested_by": 14, "requested_at": 20, "revision": 9, "fingerprint": 20, "approvals_required": 30,
    "approvals": 60, "approved_at": 20, "sod_findings": 40, "deployed_at": 20, "deployed_by": 14,
    "deployed_commit": 20, "emergency": 11, "emergency_reason": 36, "retro_approved_at": 20,
    "retro_overdue": 13, "state": 14, "log_seqs": 24,
    "username": 14, "name": 22, "group": 24, "decision": 10, "meaning": 26, "comment": 40, "signed_at": 20,
    "memberships": 40, "log_seq": 9, "kind": 16, "at": 20, "actor": 14, "ref": 22, "detail": 60,
}
DEFAULT_WIDTH = 16


def write_xlsx(out: IO[bytes] | str, columns: Sequence[str], rows: Iterable[dict[str, Any]],
               title: str = "register", head: Sequence[tuple[str, Any]] = ()) -> int:
    """Stream ``rows`` into a one-sheet workbook; returns the number of data rows. ``head`` (name,
    value) pairs go first, on a sheet of their own named ``summary`` (the access review's)."""
    wb = Workbook(write_only=True)
    if head:
        summary = wb.create_sheet("summary")
        summary.column_dimensions["A"].width, summary.column_dimensions["B"].width = 30, 40
        for name, value in head:
            summary.append([_text(summary, name), _cell(summary, "", value)])
    ws = wb.create_sheet(title)
    for i, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = WIDTHS.get(column, DEFAULT_WIDTH)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    n = 0
    for r in rows:
        ws.append([_cell(ws, column, r.get(column)) for column in columns])
        n += 1
    ws.auto_filter = AutoFilter(ref=f"A1:{get_column_letter(max(len(columns), 1))}{n + 1}")
    wb.save(out)
    return n


def _cell(ws: Any, column: str, value: Any) -> Any:
    """A plain value where openpyxl writes it right; a typed cell for dates and formula-like text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if column in TIME_COLUMNS and isinstance(value, str) and value:
        try:
            when: datetime = parse_ts(value)
        except ValueError:
            return _text(ws, value)
        cell = WriteOnlyCell(ws, value=when.replace(tzinfo=None))
        cell.number_format = DATE_FORMAT
        return cell
    return _text(ws, value if isinstance(value, str) else flat(value))


def _text(ws: Any, text: str) -> Any:
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    if len(text) > MAX_CELL:
        text = text[:MAX_CELL - 1] + "…"
    if text.startswith("="):
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"  # a string cell, not a formula
        return cell
    return text
