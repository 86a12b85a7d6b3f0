"""The pack's tables: their columns (SPEC §9-§12), how a value becomes a CSV cell, and the rows that
single log entries make (exceptions, drift). Pure, standard library only (bundled into verify.py).

The register, the exports and the verifier all format cells here, so a cell the exporter wrote is
byte for byte the cell the verifier expects.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice, repeat
from typing import Any

REGISTER_COLUMNS = (
    "change_id", "repo", "target", "title", "categories", "financial", "ticket", "requested_by",
    "requested_at", "revision", "fingerprint", "approvals_required", "approvals", "approved_at",
    "sod_findings", "deployed_at", "deployed_by", "deployed_commit", "emergency", "emergency_reason",
    "retro_approved_at", "retro_overdue", "state", "log_seqs",
    "ticket_state",  # SPEC §11: appended after log_seqs (the ITSM state last recorded)
)
APPROVAL_COLUMNS = ("change_id", "revision", "fingerprint", "username", "name", "group", "decision",
                    "meaning", "comment", "signed_at", "memberships", "log_seq",
                    "ticket")  # issue 22: appended after log_seq (the ticket signed for; empty: not recorded)
EXCEPTION_COLUMNS = ("kind", "at", "actor", "repo", "ref", "change_id", "detail", "log_seq")
DRIFT_COLUMNS = ("ts", "repo", "source", "path", "state", "summary", "log_seq")
POLICY_HISTORY_COLUMNS = ("ts", "sha256", "log_seq")
METRICS_COLUMNS = ("metric", "value")
COMMENT_COLUMNS = ("change_id", "revision", "path", "username", "name", "comment", "at", "log_seq")
# Columns holding RFC 3339 times (written as real dates in XLSX).
TIME_COLUMNS = frozenset({"requested_at", "approved_at", "deployed_at", "retro_approved_at", "signed_at",
                          "at", "ts"})
FORMULA_START = frozenset("=+-@\t\r")
# Where a register row's ``approvals_required`` comes from (``approvals_required_source``, not a column):
# recorded with the revision when it was opened, today's policy (the database register, for revisions
# recorded before migration 0007), or nowhere (the pack, for entries logged before issue 21).
RULES_FROM_REVISION = "revision"
RULES_FROM_CURRENT_POLICY = "current policy"
RULES_NOT_LOGGED = "not in the log"


def flat(value: Any) -> str:
    """One CSV cell: booleans true/false, lists joined, rules as group×count, None empty."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is list:
        if not value:
            return ""
        if type(value[0]) is str:
            try:
                return "; ".join(value)   # a list of strings (join takes nothing else): each as str() gives it
            except TypeError:
                pass
        if all(map(isinstance, value, repeat(int))):
            return " ".join(map(str, value))
        return "; ".join([f"{v['group']}×{v['count']}" if isinstance(v, dict) and "group" in v else str(v)
                          for v in value])
    return str(value)


def safe_cell(text: str) -> str:
    """Prefix a quote to cells a spreadsheet would run as a formula (OWASP CSV injection advice).

    ``=``, ``+``, ``-`` and ``@`` start formulas in Excel, LibreOffice and Google Sheets; a leading
    tab or carriage return can hide one. The quote makes the cell text; docs/audit.md explains it.
    """
    return "'" + text if text[:1] in FORMULA_START else text


def cell(value: Any) -> str:
    """One CSV cell: flattened, then neutralised."""
    return safe_cell(value if type(value) is str else flat(value))


def cells(row: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """A row's CSV cells: ``cell`` of each."""
    return cells_of(map(row.get, columns))


def cells_of(values: Iterable[Any]) -> list[str]:
    """``cell`` of each value: the common ones (a string, None, a boolean, a number that is not negative)
    without a call, since this runs for every cell of a table whose row is not plain (``csv_pieces``)."""
    return [(v if v[:1] not in FORMULA_START else "'" + v) if type(v) is str else "" if v is None
            else ("true" if v else "false") if type(v) is bool else str(v) if type(v) is int and v >= 0
            else cell(v) for v in values]


CSV_BATCH = 2048   # rows rendered per piece of csv_pieces
_SEP = "\x00"      # joins a row's texts while they are checked: a boundary that a comma inside a cell cannot fake
_ROW = "\x00\x01\x00"   # joins the rows of a batch while they are checked
_FORMULA_INSIDE = re.compile("\x00[-=+@\t]").search   # a text (not a line's first) starting as a formula would


def csv_pieces(columns: Sequence[str], rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
               values: bool = False) -> Iterator[tuple[str, int]]:
    """A table as the pack's CSV (RFC 4180 as ``csv.writer`` writes it: CRLF line ends, header first,
    formula cells neutralised), in pieces of text with the number of rows each holds. The one rendering
    of a table: the exporter writes these pieces (``audit.writers.write_csv``) and the verifier hashes
    them (``files.compare``), so a table the exporter wrote is byte for byte the one the verifier
    renders from the log. ``rows`` are mappings by column name, or (``values``) each row's values in
    column order (``projection.register_values``: the same rows, never made into mappings).

    Speed (the verifier renders a hundred thousand register rows): each row's values are made text
    (``flat``) and joined by ``_SEP``, and a batch of rows (joined by ``_ROW``) is checked at once, not
    cell by cell. When every row is plain (exactly ``len(columns) - 1`` separators, so none inside a
    text; no quote, CR or LF; no text starting with a formula character, which would follow a ``_SEP``),
    the texts are the cells, joined by commas, each holding a comma quoted (QUOTE_MINIMAL: no quote to
    double). Otherwise each row is checked alone (``_line``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    commas = len(columns) - 1
    head = _taken(buf)
    source: Iterator[Any] = iter(rows)
    while True:
        chunk = list(islice(source, CSV_BATCH))
        batch: list[Sequence[Any]] = chunk if values else [[*map(row.get, columns)] for row in chunk]
        if not batch and not head:
            return
        texts = [_SEP.join([v if type(v) is str else "" if v is None else str(v) if type(v) is int
                            else ("true" if v else "false") if type(v) is bool else flat(v) for v in vs])
                 for vs in batch]
        yield head + _lines(batch, texts, commas, writer, buf), len(batch)
        if len(batch) < CSV_BATCH:
            return
        head = ""


def _lines(batch: list[Sequence[Any]], texts: list[str], commas: int, writer: Any, buf: io.StringIO) -> str:
    """The CSV lines (each ending in CRLF) of a batch of rows: their values, and their texts joined by ``_SEP``."""
    n = len(texts)
    if commas and n:
        text = _ROW.join(texts)
        if (text.count(_SEP) == (commas + 2) * n - 2 and text.count("\x01") == n - 1 and '"' not in text
                and "\r" not in text and "\n" not in text and text[:1] not in FORMULA_START
                and not _FORMULA_INSIDE(text)):
            if "," in text:
                text = _comma_cells_quoted(text)
            return text.replace(_ROW, "\r\n").replace(_SEP, ",") + "\r\n"
    return "".join([_line(vs, t, commas, writer, buf) + "\r\n" for vs, t in zip(batch, texts, strict=True)])


def _line(vs: Sequence[Any], text: str, commas: int, writer: Any, buf: io.StringIO) -> str:
    """One row's CSV line: its values ``vs``, their texts joined by ``_SEP`` (``text``)."""
    if (commas and text.count(_SEP) == commas and '"' not in text and "\r" not in text and "\n" not in text
            and text[:1] not in FORMULA_START and not _FORMULA_INSIDE(text)):
        return (_comma_cells_quoted(text) if "," in text else text).replace(_SEP, ",")
    cs = cells_of(vs)
    line = ",".join(cs)
    if not commas:
        writer.writerow(cs)
        return _taken(buf)[:-2]
    if line.count(",") != commas or '"' in line or "\r" in line or "\n" in line:
        line = ",".join([('"' + c.replace('"', '""') + '"') if "," in c or '"' in c or "\r" in c or "\n" in c
                         else c for c in cs])   # as csv.writer quotes a cell (QUOTE_MINIMAL)
    return line


def _comma_cells_quoted(text: str) -> str:
    """Texts joined by ``_SEP`` (rows by ``_ROW``), none holding a quote, with each text that holds a comma
    quoted, found from its commas: a row usually has one such text, so a few searches, not a look at each."""
    parts: list[str] = []
    done = 0
    at = text.find(",")
    while at >= 0:
        start = text.rfind(_SEP, done, at) + 1 or done   # the text's first character (rfind: -1 in the first)
        end = text.find(_SEP, at)
        end = len(text) if end < 0 else end
        parts += (text[done:start], '"', text[start:end], '"')
        done = end
        at = text.find(",", end)
    parts.append(text[done:])
    return "".join(parts)


def _taken(buf: io.StringIO) -> str:
    """What ``buf`` holds, leaving it empty."""
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


def parse_ts(ts: str) -> datetime:
    """A stored RFC 3339 timestamp as an aware UTC datetime (stored: ``…SSZ`` or ``…SS.ffffffZ``)."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def overdue(emergency: bool, deadline: str | None, retro_approved_at: str | None, state: str, now: str) -> bool:
    """An emergency CR whose retrospective approval missed its deadline (SPEC §2, §7).

    True while it still awaits approval after the deadline, and also when the approval came late:
    for the auditor a late ratification is an exception even once it is given.
    """
    if not emergency or not deadline:
        return False
    due = parse_ts(deadline)
    if retro_approved_at:
        return parse_ts(retro_approved_at) > due
    return state == "emergency" and parse_ts(now) > due


def memberships_text(memberships: Sequence[Mapping[str, Any]]) -> str:
    """``group (via a > b)``: the group memberships a decision used, with their nesting path."""
    out = []
    for m in memberships:
        via = list(m.get("via") or [])
        out.append(str(m["group"]) + (f" (via {' > '.join(via)})" if len(via) > 1 else ""))
    return "; ".join(out)


# -- rows made by one log entry -------------------------------------------------------------------
def reason_message(reason: Any) -> str:
    """The sentence of one logged reason: ``{"code", "message"}``, or a bare sentence logged before
    reason codes existed (``ledger.events.Reason.coerce`` reads both)."""
    return str(reason.get("message") or "") if isinstance(reason, Mapping) else str(reason)


def refused_rows(seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``push.refused``: one exceptions.csv row per refused ref of the push."""
    refs = [r for r in p.get("refs") or () if not r.get("allow")] or [{"ref": ""}]
    spooled, emergency = p.get("spooled"), p.get("emergency")
    out = []
    for r in refs:
        detail = " | ".join(reason_message(x) for x in r.get("reasons") or ()) or "refused"
        if emergency is not None:
            detail = f"emergency requested ({emergency}): {detail}"
        if spooled:  # refused by the hook while the service was unreachable, logged on delivery
            detail = f"refused by the hook at {p.get('refused_at')} while the service was unreachable: {detail}"
        out.append({"kind": "push.refused", "at": p.get("refused_at") if spooled else ts, "actor": actor,
                    "repo": p.get("repo", ""), "ref": r.get("ref") or None, "change_id": None, "detail": detail,
                    "log_seq": seq})
    return out


def drift_row(seq: int, ts: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """``drift.csv``: one ``drift.checked`` entry."""
    return {"ts": ts, "repo": p.get("repo"), "source": p.get("source"), "path": p.get("path"),
            "state": p.get("result"), "summary": p.get("summary"), "log_seq": seq}


def drift_exception_row(seq: int, ts: str, kind: str, actor: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """exceptions.csv kind ``drift``: a ``drift.detected`` or ``drift.error`` entry."""
    what = (f"drift detected: {p.get('summary', '')}" if kind == "drift.detected"
            else f"source cannot be read: {p.get('error', '')}")
    return {"kind": "drift", "at": ts, "actor": actor, "repo": p.get("repo"), "ref": None,
            "change_id": p.get("matches_change"), "detail": f"{p.get('source')} ({p.get('path')}): {what}",
            "log_seq": seq}


def sign_refused_row(seq: int, ts: str, actor: str, p: Mapping[str, Any], repo: str | None) -> dict[str, Any]:
    """exceptions.csv kind ``sign-refused``: a signature refused for segregation of duties (the 403)."""
    reasons = p.get("reasons")
    text = reasons if isinstance(reasons, str) else "; ".join(reason_message(r) for r in reasons or ())
    return {"kind": "sign-refused", "at": ts, "actor": actor, "repo": repo, "ref": None,
            "change_id": p.get("change_id"),
            "detail": f"{p.get('decision') or 'signature'} by {p.get('signer') or actor} refused: {text}",
            "log_seq": seq}


def _undeployed_row(kind: str, outcome: str, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """An allowed update the log cannot count as deployed: its changes (one names the row), its old..new
    and who settled it how."""
    ids = [i for i in p.get("change_ids") or () if isinstance(i, int)]
    return {"kind": kind, "at": ts, "actor": actor, "repo": p.get("repo"), "ref": p.get("ref"),
            "change_id": ids[0] if len(ids) == 1 else None,
            "detail": f"allowed update {str(p.get('old', ''))[:12]}..{str(p.get('new', ''))[:12]} {outcome} "
                      f"(settled by {p.get('settled_by')}): {p.get('reason')}"
                      + (f"; changes {', '.join(map(str, ids))}" if len(ids) > 1 else ""),
            "log_seq": seq}


def voided_row(seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """exceptions.csv kind ``deploy-voided``: a gate decision git did not carry out."""
    return _undeployed_row("deploy-voided", "not made", seq, ts, actor, p)


def unproven_row(seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """exceptions.csv kind ``deploy-unproven``: a gate decision nobody can tell git carried out or not."""
    return _undeployed_row("deploy-unproven", "neither confirmed nor voided", seq, ts, actor, p)


def state_rejected_row(seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """exceptions.csv kind ``hook-state-rejected``: a hook state file (or settle facts) not trusted."""
    why = "; ".join(reason_message(r) for r in p.get("reasons") or ()) or "rejected"
    return {"kind": "hook-state-rejected", "at": ts, "actor": actor, "repo": p.get("repo"), "ref": None,
            "change_id": None, "detail": f"{why} (it claimed: {str(p.get('content', ''))[:500]})", "log_seq": seq}


def emergency_row(seq: int, ts: str, actor: str, p: Mapping[str, Any], deadline: str | None, state: str | None,
                  retro_approved_at: str | None) -> dict[str, Any]:
    """exceptions.csv kind ``emergency``: one break-glass deployment, with its CR's state now."""
    detail = f"break-glass deployment of {str(p.get('new', ''))[:12]}: {p.get('reason', '')}"
    if p.get("note"):
        detail += f" ({p['note']})"
    if state is not None:
        detail += f"; retrospective approval due by {deadline}; state now {state}"
        if retro_approved_at:
            detail += f" (retro-approved {retro_approved_at})"
    return {"kind": "emergency", "at": ts, "actor": actor, "repo": p.get("repo", ""), "ref": p.get("ref", ""),
            "change_id": p.get("change_id"), "detail": detail, "log_seq": seq}


def overdue_row(change_id: int, repo: str, target: str, deadline: str, deployed_by: str | None,
                retro_approved_at: str | None, state: str, seq: int | None) -> dict[str, Any]:
    """exceptions.csv kind ``retro-overdue``: an emergency CR ratified late, or not by its deadline."""
    detail = (f"retro-approved {retro_approved_at}, after the deadline {deadline}" if retro_approved_at else
              f"no retrospective approval; the deadline {deadline} has passed (state {state})")
    ref = target if target.startswith("refs/") else f"refs/heads/{target}"  # a tag's emergency CR: its ref
    return {"kind": "retro-overdue", "at": deadline, "actor": deployed_by, "repo": repo, "ref": ref,
            "change_id": change_id, "detail": detail, "log_seq": seq}


def comment_row(seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """``comments.csv``: one ``change.commented`` entry (the reviewers' discussion, issue 25)."""
    return {"change_id": p.get("change_id"), "revision": p.get("revision"), "path": p.get("path") or "",
            "username": p.get("commenter") or actor, "name": p.get("name"), "comment": p.get("comment"),
            "at": ts, "log_seq": seq}
