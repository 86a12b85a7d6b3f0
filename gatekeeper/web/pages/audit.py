"""The auditor's pages (SPEC §6, §9): period picker, register and evidence downloads, log status,
exceptions, and a browser for the change log with each entry's hash.

Downloads call the same functions as ``/api/v1/audit/*``, with the session instead of Basic auth;
the role check runs on every route, not only in the navigation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlmodel import Session, col, select

from gatekeeper.actions.context import Services
from gatekeeper.checkpoints.keys import configured_public_key
from gatekeeper.checkpoints.sign import latest_checkpoint
from gatekeeper.errors import GatekeeperError, InputError
from gatekeeper.ledger import events
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeLog, ChangeLogRef
from gatekeeper.web import downloads
from gatekeeper.web.context import services
from gatekeeper.web.forms import PeriodForm, period_problem
from gatekeeper.web.names import name_of
from gatekeeper.web.pages.auth import login_required, role_required
from gatekeeper.web.summaries import summary

bp = Blueprint("pages_audit", __name__)

AUDIT_ROLES = ("auditors", "admins")
LOG_PAGE = 50
EXCEPTIONS_LIMIT = 200
FORMATS = ("csv", "xlsx", "json")


def default_period() -> tuple[str, str]:
    today = services().clock().date()
    return today.replace(day=1).isoformat(), today.isoformat()


def period() -> tuple[PeriodForm, str, str, str, str]:
    """The picked period as given (YYYY-MM-DD, either end may be open) and as ``[start, end)``
    bounds; this month so far when nothing is picked."""
    from gatekeeper.period import PeriodError, parse_period

    given = "from" in request.args or "to" in request.args
    form = PeriodForm(formdata=request.args if given else None)
    if not given:
        form.start.data, form.end.data = default_period()
    if not form.validate():
        errors = [f"{field.label.text}: {e}" for field in (form.start, form.end) for e in field.errors]
        raise InputError("period: " + "; ".join(errors))
    start_text, end_text = form.start.data or "", form.end.data or ""
    try:
        start, end = parse_period(start_text or None, end_text or None, ("from", "to"))
    except PeriodError as exc:
        raise InputError(period_problem(exc)) from exc
    return form, start_text, end_text, start, end


def filters(svc: Services) -> tuple[str | None, str | None]:
    """``repo`` and ``category`` of the metrics (names from the policy; anything else is a 400)."""
    from gatekeeper.audit.metrics import check_filters

    repo, category = request.args.get("repo") or None, request.args.get("category") or None
    check_filters(svc, repo, category)
    return repo, category


@bp.get("/audit")
@role_required(*AUDIT_ROLES)
def index() -> Any:
    from gatekeeper.audit import charts
    from gatekeeper.audit.metrics import compute

    svc = services()
    choices = {"repos": [r.name for r in svc.config.repos], "categories": [c.name for c in svc.config.categories]}
    try:
        form, start_text, end_text, start, end = period()
        repo, category = filters(svc)
    except InputError as exc:
        form = PeriodForm(formdata=request.args)
        return render_template("audit/index.html", form=form, problem=exc.message, status=None, metrics=None,
                               charts=None, downloads=None, choices=choices, chosen={}), 400
    with svc.store.read() as s:
        status = log_status(svc, s, verify=request.args.get("verify") == "1")
        figures = compute(svc, start, end, repo=repo, category=category, session=s)
    links = {"from": start_text, "to": end_text, "formats": [(fmt, True) for fmt in FORMATS], "evidence": True}
    return render_template("audit/index.html", form=form, problem=None, status=status, metrics=figures,
                           charts=charts.charts(figures), hours=charts.human_hours, downloads=links, choices=choices,
                           chosen={"repo": repo, "category": category}, limit=EXCEPTIONS_LIMIT)


@bp.get("/audit/report")
@role_required(*AUDIT_ROLES)
def report_download() -> Response:
    """``report.html`` of the period (the evidence pack holds the same report)."""
    from gatekeeper.audit import report

    _, start_text, end_text, start, end = period()
    html = report.build(services(), start, end)
    name = f"control-report_{start_text or 'start'}_{end_text or 'now'}.html"
    return Response(html, mimetype="text/html",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/audit/register")
@role_required(*AUDIT_ROLES)
def register_download() -> Response:
    _, start_text, end_text, start, end = period()
    return downloads.register_download(services(), start, end, request.args.get("format", "csv"),
                                       f"{start_text or 'start'}_{end_text or 'now'}")


@bp.get("/audit/evidence")
@role_required(*AUDIT_ROLES)
def evidence_download() -> Response:
    _, start_text, end_text, start, end = period()
    return downloads.evidence_download(services(), start, end, f"{start_text or 'start'}_{end_text or 'now'}")


# -- log status and exceptions -----------------------------------------------------------------------
def log_status(svc: Services, session: Session, *, verify: bool) -> dict[str, Any]:
    head = log.head(session)
    checkpoint: Any = None
    try:
        checkpoint = latest_checkpoint(session)
    except GatekeeperError as exc:
        checkpoint = {"error": exc.message}
    status: dict[str, Any] = {"head": head, "checkpoint": checkpoint, "verify": None,
                              "witnesses": witness_status(svc, session, checkpoint)}
    if verify:
        status["verify"] = verify_log(svc, session)
    return status


WITNESS_REFUSALS = 10


def witness_status(svc: Services, session: Session, checkpoint: Any) -> dict[str, Any]:
    """The configured witnesses, who cosigned the last checkpoint, and the latest refusals (SPEC §12):
    a refusal may be a witness that is down, or a log history it will not vouch for."""
    from gatekeeper.witness.client import cosignatures

    size = getattr(checkpoint, "seq", None)
    signed = {line.split(" ")[1] for line in cosignatures(session, size)} if isinstance(size, int) else set()
    refusals = []
    for e in log.of_kinds(session, [events.WITNESS_REFUSED], newest_first=True, limit=WITNESS_REFUSALS):
        r = events.WitnessRefused.from_payload(e.payload)
        refusals.append({"seq": e.seq, "ts": e.ts, "witness": r.witness, "size": r.size, "reason": r.reason})
    return {"configured": [w.name for w in svc.config.ledger.witnesses], "cosigned": sorted(signed),
            "refusals": refusals}


def verify_log(svc: Services, session: Session) -> dict[str, Any]:
    """The whole chain, and the signatures of the logged checkpoints when the public key is at hand."""
    from gatekeeper.ledger.verify import verify_rows

    try:
        summary = verify_rows(log.rows(session), public_key=_public_key(svc))
    except GatekeeperError as exc:
        return {"ok": False, "text": f"FAILED: {exc.message}"}
    return {"ok": True, "text": summary.describe()}


def _public_key(svc: Services) -> Any:
    """The configured key's public half to check the logged checkpoints with (None: unreadable or absent)."""
    try:
        return configured_public_key(Path(svc.config.service.signing_key))
    except GatekeeperError:
        return None


# -- the log -----------------------------------------------------------------------------------------
@bp.get("/log")
@login_required
def log_page() -> Any:
    """Newest first, 50 a page; ``before`` pages back; ``kind``, ``change`` and the period (``from``,
    ``to``: UTC days, both included) filter. A date that does not exist is answered in words."""
    from gatekeeper.period import parse_period

    args = request.args
    kind = args.get("kind") or None
    before = _bounded(args.get("before", ""))
    change = _bounded(args.get("change", ""))
    dates = {k: args.get(k, "").strip() for k in ("from", "to") if args.get(k, "").strip()}
    problem, since, until = None, None, None
    try:
        if dates:
            since, until = parse_period(dates.get("from"), dates.get("to"), ("from", "to"))
    except InputError as exc:
        problem = exc.message
    with services().store.read() as s:
        head = log.head(s)
        q = select(ChangeLog)
        if kind:
            q = q.where(ChangeLog.kind == kind)
        if change is not None:
            refs = select(ChangeLogRef.seq).where(ChangeLogRef.change_id == change)
            q = q.where(col(ChangeLog.seq).in_(refs))
        if before is not None:
            q = q.where(col(ChangeLog.seq) < before)
        if since:
            q = q.where(col(ChangeLog.ts) >= since)
        if until:
            q = q.where(col(ChangeLog.ts) < until)
        rows = s.exec(q.order_by(col(ChangeLog.seq).desc()).limit(LOG_PAGE + 1)).all() if problem is None else []
        known_kinds = sorted(s.exec(select(ChangeLog.kind).distinct()).all())
    more = len(rows) > LOG_PAGE
    entries = [describe(e) for e in rows[:LOG_PAGE]]
    filters: dict[str, Any] = {k: v for k, v in {"kind": kind, "change": change, **dates}.items() if v is not None}
    return render_template("audit/log.html", entries=entries, head=head, more=more, filters=filters,
                           before=before, kinds=known_kinds, older=entries[-1]["seq"] if more else None,
                           problem=problem), 400 if problem else 200


def describe(e: ChangeLog) -> dict[str, Any]:
    """One log entry for a page: its fields, its hash and one plain sentence about what happened."""
    try:
        p = json.loads(e.payload)
    except ValueError:
        p = {}
    p = p if isinstance(p, dict) else {}
    try:
        event: events.Event | None = events.parse(e.kind, p)
    except (KeyError, TypeError, ValueError):  # a kind this version does not know, or a payload it cannot read
        event = None
    return {"seq": e.seq, "ts": e.ts, "kind": e.kind, "actor": e.actor, "hash": e.hash,
            "prev_hash": e.prev_hash, "summary": summary(event, e.actor, name_of) if event is not None else e.kind,
            "payload": json.dumps(p, indent=2, ensure_ascii=False, sort_keys=True)}


def _bounded(text: str) -> int | None:
    """A non-negative id from a query string, or None: ids beyond the INTEGER columns match nothing."""
    return int(text) if text.isdecimal() and int(text) < 2**31 else None
