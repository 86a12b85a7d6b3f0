"""The auditor's pages (SPEC §6, §9): period picker, register and evidence downloads, log status,
exceptions, and a browser for the change log with each entry's hash.

Downloads call the same functions as ``/api/v1/audit/*``, with the session instead of Basic auth;
the role check runs on every route, not only in the navigation.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlmodel import Session, col, select

from gatekeeper.actions.context import Services
from gatekeeper.errors import GatekeeperError, InputError
from gatekeeper.ledger import entry as kinds
from gatekeeper.ledger import events
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeLog, ChangeLogRef
from gatekeeper.web import downloads, services
from gatekeeper.web.forms import PeriodForm
from gatekeeper.web.pages.auth import login_required, role_required

bp = Blueprint("pages_audit", __name__)

AUDIT_ROLES = ("auditors", "admins")
LOG_PAGE = 50
EXCEPTIONS_LIMIT = 200
FORMATS = ("csv", "xlsx", "json")


def default_period() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    return today.replace(day=1).isoformat(), today.isoformat()


def period() -> tuple[PeriodForm, str, str, str, str]:
    """The picked period as given (YYYY-MM-DD, either end may be open) and as ``[start, end)``
    bounds; this month so far when nothing is picked."""
    from gatekeeper.period import parse_period

    given = "from" in request.args or "to" in request.args
    form = PeriodForm(formdata=request.args if given else None)
    if not given:
        form.start.data, form.end.data = default_period()
    if not form.validate():
        errors = [f"{field.label.text}: {e}" for field in (form.start, form.end) for e in field.errors]
        raise InputError("period: " + "; ".join(errors))
    start_text, end_text = form.start.data or "", form.end.data or ""
    start, end = parse_period(start_text or None, end_text or None, ("from", "to"))
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
    latest = getattr(log, "latest_checkpoint", None)
    checkpoint = None
    if latest is not None:
        try:
            checkpoint = latest(session)
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
    for e in session.exec(select(ChangeLog).where(ChangeLog.kind == events.WITNESS_REFUSED)
                          .order_by(col(ChangeLog.seq).desc()).limit(WITNESS_REFUSALS)).all():
        r = events.WitnessRefused.from_payload(json.loads(e.payload))
        refusals.append({"seq": e.seq, "ts": e.ts, "witness": r.witness, "size": r.size, "reason": r.reason})
    return {"configured": [w.name for w in svc.config.ledger.witnesses], "cosigned": sorted(signed),
            "refusals": refusals}


def verify_log(svc: Services, session: Session) -> dict[str, Any]:
    """The whole chain, and the signatures of the logged checkpoints when the public key is at hand."""
    try:
        from gatekeeper.ledger.verify import verify_rows
    except ImportError:
        return {"ok": None, "text": "log verification is not available in this installation"}
    rows = getattr(log, "rows", None)
    if rows is None:
        return {"ok": None, "text": "log verification is not available in this installation"}
    try:
        summary = verify_rows(rows(session), public_key=_public_key(svc))
    except GatekeeperError as exc:
        return {"ok": False, "text": f"FAILED: {exc.message}"}
    return {"ok": True, "text": summary.describe()}


def _public_key(svc: Services) -> Any:
    try:
        from gatekeeper.store.signing import load_public_key, public_key_path
    except ImportError:
        return None
    private = Path(svc.config.service.signing_key)
    for path in (public_key_path(private), private):
        if path.exists():
            try:
                return load_public_key(path)
            except GatekeeperError:
                continue
    return None


# -- the log -----------------------------------------------------------------------------------------
@bp.get("/log")
@login_required
def log_page() -> Any:
    """Newest first, 50 a page; ``before`` pages back, ``kind`` and ``change`` filter."""
    args = request.args
    kind = args.get("kind") or None
    before = _bounded(args.get("before", ""))
    change = _bounded(args.get("change", ""))
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
        rows = s.exec(q.order_by(col(ChangeLog.seq).desc()).limit(LOG_PAGE + 1)).all()
        known_kinds = sorted(s.exec(select(ChangeLog.kind).distinct()).all())
    more = len(rows) > LOG_PAGE
    entries = [describe(e) for e in rows[:LOG_PAGE]]
    filters = {k: v for k, v in {"kind": kind, "change": change}.items() if v is not None}
    return render_template("audit/log.html", entries=entries, head=head, more=more, filters=filters,
                           before=before, kinds=known_kinds, older=entries[-1]["seq"] if more else None)


def describe(e: ChangeLog) -> dict[str, Any]:
    """One log entry for a page: its fields, its hash and one plain sentence about what happened."""
    try:
        p = json.loads(e.payload)
    except ValueError:
        p = {}
    p = p if isinstance(p, dict) else {}
    return {"seq": e.seq, "ts": e.ts, "kind": e.kind, "actor": e.actor, "hash": e.hash,
            "prev_hash": e.prev_hash, "summary": summary(e.kind, e.actor, p),
            "payload": json.dumps(p, indent=2, ensure_ascii=False, sort_keys=True)}


def summary(kind: str, actor: str, p: dict[str, Any]) -> str:
    fp = str(p.get("fingerprint") or "")[:12]
    if kind in (kinds.CHANGE_OPENED, kinds.CHANGE_REVISED):
        kept = {True: "; approvals kept", False: "; approvals reset"}.get(p.get("approvals_kept") is True, "")
        kept = kept if p.get("approvals_kept") is not None else ""
        return (f"revision {p.get('revision')} pushed by {p.get('pusher', actor)} from {p.get('topic_ref')} "
                f"(fingerprint {fp}){kept}; state {p.get('state')}")
    if kind in (kinds.CHANGE_APPROVED, kinds.CHANGE_REJECTED):
        verb = "approved" if kind == kinds.CHANGE_APPROVED else "rejected"
        text = (f"{p.get('name') or p.get('signer', actor)} ({p.get('signer', actor)}) {verb} revision "
                f"{p.get('revision')} as {p.get('group') or '—'}: “{p.get('meaning')}”")
        return text + (f" — {p['comment']}" if p.get("comment") else "") + f"; state {p.get('state')}"
    if kind == kinds.CHANGE_WITHDRAWN:
        return f"withdrawn by {actor}: {p.get('reason', '')}"
    if kind == kinds.CHANGE_DEPLOYED:
        what = f"change request {p['change_id']}" if p.get("change_id") else "update without a change request"
        return f"{what} deployed to {p.get('ref')} at {str(p.get('new', ''))[:12]} by {actor}"
    if kind == kinds.EMERGENCY_DEPLOYED:
        return (f"EMERGENCY deployment to {p.get('ref')} by {actor}: {p.get('reason')}; "
                f"retrospective approval due by {p.get('deadline')}")
    if kind in (kinds.PUSH_ALLOWED, kinds.PUSH_REFUSED):
        refs = p.get("refs") or []
        verb = "allowed" if kind == kinds.PUSH_ALLOWED else "refused"
        reasons = [r for ref in refs for r in (ref.get("reasons") or [])[:1] if not ref.get("allow", True)]
        text = f"push by {actor} to {', '.join(r.get('ref', '?') for r in refs) or p.get('repo')} {verb}"
        return text + (f": {reasons[0]}" if reasons else "")
    if kind == events.DEPLOY_INTENT:
        d = events.DeployIntent.from_payload(p)
        what = ", ".join(f"change request {c.change_id} (revision {c.revision})" for c in d.changes) or d.action
        return f"gate allowed {d.ref} {d.old[:12]} → {d.new[:12]} by {actor}: {what}; deploy intent {d.intent_id}"
    if kind == events.DEPLOY_VOIDED:
        v = events.DeployVoided.from_payload(p)
        return f"deploy intent {v.intent_id} voided ({v.settled_by}): {v.reason}"
    if kind == kinds.CONFIG_LOADED:
        return f"policy loaded: {p.get('path')} (sha256 {str(p.get('sha256', ''))[:12]})"
    if kind == kinds.LOG_CHECKPOINT:
        return f"signed checkpoint of seq {p.get('seq')} (key {p.get('key_id')})"
    if kind.startswith("drift."):
        detail = p.get("summary") or p.get("error") or p.get("previous") or ""
        return f"{kind}: {p.get('source')} ({p.get('repo')}:{p.get('path')}) {p.get('result') or ''} {detail}"
    return kind


def _bounded(text: str) -> int | None:
    """A non-negative id from a query string, or None: ids beyond the INTEGER columns match nothing."""
    return int(text) if text.isdigit() and int(text) < 2**31 else None
