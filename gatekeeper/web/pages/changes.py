"""Change requests: the filterable list, the change page (semantic diff, SoD panel, timeline) and the
electronic signature (SPEC §1 step 2, §3, §6).

The list reads rows only (``views.summary`` needs no further query), so it stays fast with 10,000 CRs.
Every signature re-checks the password against the directory, even inside a session: the signature
is what the SOC 1 auditor relies on, the session cookie is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlmodel import Session, col, select

from gatekeeper.actions import changes as actions
from gatekeeper.actions import review as rv
from gatekeeper.actions import views
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import SignRequest
from gatekeeper.errors import AuthError, GatekeeperError, InputError
from gatekeeper.policy import sod
from gatekeeper.policy.people import User
from gatekeeper.policy.review import Review
from gatekeeper.policy.states import State
from gatekeeper.store import changes as q
from gatekeeper.store.tables import ChangeLog, ChangeRequest
from gatekeeper.web.auth import check_password
from gatekeeper.web.context import services
from gatekeeper.web.forms import SignForm, WithdrawForm, period_problem
from gatekeeper.web.pages.audit import describe
from gatekeeper.web.pages.auth import current_user, failure_text, login_required

bp = Blueprint("pages_changes", __name__)

PER_PAGE = 50
PANEL_LIMIT = 60


def not_recorded(reason: str) -> str:
    return str(_("the signature was not recorded: %(reason)s", reason=reason))


# -- who may sign ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Signer:
    """One row of the SoD panel: can this person approve (or reject) this change now, and why not."""

    username: str
    name: str
    groups: tuple[str, ...]
    approve: sod.SignerCheck
    reject: sod.SignerCheck


def check(svc: Services, session: Session, cr: ChangeRequest, user: User, review: Review) -> Signer:
    """``signing_blockers`` for one person: the same answer the signature action (and the 403) gives."""
    verdict = rv.signing(svc, session, cr, user, review)
    rule_groups = {r.group for r in review.rules}
    groups = {m.group for m in svc.directory.memberships(user.username)} & rule_groups
    return Signer(user.username, user.name, tuple(sorted(groups)), verdict.approve, verdict.reject)


def panel(svc: Services, session: Session, cr: ChangeRequest, me: User, review: Review
          ) -> tuple[list[Signer], bool]:
    """Me first, then every member of an approving group and everyone who took part."""
    users: dict[str, User] = {me.username: me}
    for rule in review.rules:
        for member, _via in svc.directory.group_members(rule.group):
            users.setdefault(member.username, member)
    involved = {p.username for p in review.people if p.username} | set(review.emails.values())
    for name in sorted(involved):
        if name not in users and (found := svc.directory.get_user(name)) is not None:
            users[name] = found
    names = list(users)[:PANEL_LIMIT]
    return [check(svc, session, cr, users[n], review) for n in names], len(users) > PANEL_LIMIT


# -- pages ---------------------------------------------------------------------------------------------
@bp.get("/changes")
@login_required
def index() -> Any:
    svc = services()
    args = request.args
    problem: str | None = None
    status = 0
    state = args.get("state") or None
    financial = {"yes": True, "no": False}.get(args.get("financial", ""))
    page = args.get("page", "1").strip() or "1"
    page_no = 1
    if page.isdigit() and 0 < int(page) <= 10**9:
        page_no = int(page)
    else:
        problem = _("“%(page)s” is not a page number: use a whole number from 1.", page=page[:20])
    since = until = None
    try:
        if state and state not in {s.value for s in State}:
            raise InputError(f"unknown state {state!r} (states: {', '.join(s.value for s in State)})")
        if args.get("from") or args.get("to"):
            from gatekeeper.period import parse_period

            since, until = parse_period(args.get("from") or None, args.get("to") or None, ("from", "to"))
    except InputError as exc:
        from gatekeeper.period import PeriodError

        problem = period_problem(exc) if isinstance(exc, PeriodError) else exc.message
        state, since, until = None, None, None

    def listing(number: int) -> tuple[list[dict[str, Any]], int]:
        with svc.store.read() as s:
            rows, total = q.listing(s, state=state, repo=args.get("repo") or None,
                                    category=args.get("category") or None, financial=financial, since=since,
                                    until=until, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
            return [views.summary(svc, cr) for cr in rows], total

    items, total = listing(page_no)
    filters = {k: v for k, v in args.items() if k != "page" and v}
    pages = max(1, -(-total // PER_PAGE))
    if page_no > pages and problem is None:  # ?page=999: say so in words, and show the last page there is
        problem = ngettext("There is no page %(page)s: the list has %(num)s page. Showing it.",
                           "There is no page %(page)s: the list has %(num)s pages. Showing the last one.",
                           pages, page=page_no)
        page_no, status = pages, 404
        items, total = listing(page_no)
    return render_template("changes/list.html", items=items, total=total, page=page_no, pages=pages,
                           filters=filters, states=[s.value for s in State],
                           repos=[r.name for r in svc.config.repos],
                           categories=[c.name for c in svc.config.categories], problem=problem), \
        status if problem and status else (400 if problem else 200)


@bp.get("/changes/<int:change_id>")
@login_required
def show(change_id: int) -> Any:
    return render_change(change_id)


def render_change(change_id: int, form: SignForm | None = None, problem: str | None = None,
                  status: int = 200) -> Any:
    svc = services()
    me = current_user()
    assert me is not None
    with svc.store.read() as s:
        data = views.change_json(svc, change_id, s)
        cr = actions.load(s, change_id)
        review = rv.review(svc, s, cr)
        verdict = rv.signing(svc, s, cr, me, review)
        signers, truncated = panel(svc, s, cr, me, review)
        entries = s.exec(select(ChangeLog).where(col(ChangeLog.seq).in_(data["log_seqs"]))
                         .order_by(col(ChangeLog.seq))).all()
        timeline = [describe(e) for e in entries]
    errors = sum(1 for f in data["findings"] if f.get("severity") == "error")
    no_approve, no_reject = list(verdict.change), list(verdict.change_reject)
    mine = signers[0]
    can_approve, can_reject = verdict.may_approve, verdict.may_reject
    if form is None and (can_approve or can_reject):
        form = SignForm(formdata=None)
    if form is not None:
        form.printed_name.data = me.name
        form.meaning.choices = [(m, m) for m in data["meanings"]]
    withdraw = None
    if actions.withdrawal_refused(svc, cr, me) is None:  # the withdrawal's own answer
        withdraw = WithdrawForm(formdata=None)
    return render_template(
        "changes/show.html", cr=data, form=form, problem=problem, signers=signers, truncated=truncated,
        mine=mine, can_approve=can_approve, can_reject=can_reject, no_approve=no_approve, no_reject=no_reject,
        slots=_slots(data), timeline=timeline, withdraw=withdraw, errors=errors), status


def _slots(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each rule with the signatures filling it and how many slots are still open."""
    out = []
    for rule in data["approvals_required"]:
        filled = [a for a in data["approvals"] if a["counts"] and a["group"] == rule["group"]]
        out.append({"group": rule["group"], "count": rule["count"], "filled": filled,
                    "open": max(0, rule["count"] - len(filled))})
    return out


@bp.post("/changes/<int:change_id>/sign")
@login_required
def sign(change_id: int) -> Any:
    svc = services()
    me = current_user()
    assert me is not None
    with svc.store.read() as s:
        meanings = rv.meanings_of(svc, actions.load(s, change_id))
    form = SignForm()
    form.meaning.choices = [(m, m) for m in meanings]
    if not form.validate_on_submit():
        return render_change(change_id, form, _("the signature was not recorded: see the form"), 400)
    try:
        signer = check_password(me.username, form.password.data or "")
    except AuthError as exc:
        form.password.errors = [failure_text(exc, _("wrong password"))]
        return render_change(change_id, form, _("%(reason)s: the signature was not recorded",
                                                reason=failure_text(exc, _("wrong password"))), 401)
    except GatekeeperError as exc:  # lockout or directory down
        return render_change(change_id, form, not_recorded(exc.message), exc.http_status)
    decision = form.decision or "approve"
    req = SignRequest(decision=decision, meaning=form.meaning.data or "", comment=form.comment.data or "")
    try:
        actions.sign(svc, change_id, signer, req)
    except GatekeeperError as exc:
        if exc.http_status >= 500:
            raise
        return render_change(change_id, form, not_recorded(exc.message), exc.http_status)
    meaning = req.meaning or meanings[0]
    if decision == "approve":
        done = _("Signature recorded: %(name)s approved change request %(id)s — “%(meaning)s”.",
                 name=signer.name, id=change_id, meaning=meaning)
    else:
        done = _("Signature recorded: %(name)s rejected change request %(id)s — “%(meaning)s”.",
                 name=signer.name, id=change_id, meaning=meaning)
    flash(done, "success")
    return redirect(url_for("pages_changes.show", change_id=change_id, _anchor="signatures"), 303)


@bp.post("/changes/<int:change_id>/withdraw")
@login_required
def withdraw(change_id: int) -> Any:
    me = current_user()
    assert me is not None
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400, _("The withdrawal form was incomplete."))
    try:
        actions.withdraw(services(), change_id, me, reason=(form.reason.data or "").strip())
    except GatekeeperError as exc:
        if exc.http_status >= 500:
            raise
        return render_change(change_id, None, _("not withdrawn: %(reason)s", reason=exc.message), exc.http_status)
    flash(_("Change request %(id)s withdrawn.", id=change_id), "success")
    return redirect(url_for("pages_changes.show", change_id=change_id), 303)
