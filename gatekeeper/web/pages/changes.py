"""The change page (semantic diff, SoD panel, timeline, discussion, changes since your last review)
and the electronic signature (SPEC §1 step 2, §3, §6; issue 25).

Every signature re-checks the password against the directory, even inside a session: the signature
is what the SOC 1 auditor relies on, the session cookie is not. A sign form sent after its session
ended is kept as a draft for that user and CR (never the password) and restored at ``#sign`` after
they sign in again. The list is ``change_list``; comments and withdrawal are ``change_actions``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlmodel import Session, col, select

from gatekeeper.actions import changes as actions
from gatekeeper.actions import comments, signing, views
from gatekeeper.actions import review as rv
from gatekeeper.actions import since as since_mod
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import SignRequest
from gatekeeper.errors import AuthError, GatekeeperError
from gatekeeper.policy import sod
from gatekeeper.policy.people import User
from gatekeeper.policy.review import Review
from gatekeeper.store import log, reviewing
from gatekeeper.store.tables import ChangeLog, ChangeRequest
from gatekeeper.web.auth import check_password
from gatekeeper.web.context import services
from gatekeeper.web.forms import CommentForm, SignForm, WithdrawForm
from gatekeeper.web.pages.audit import describe
from gatekeeper.web.pages.auth import current_user, failure_text, login_required

bp = Blueprint("pages_changes", __name__)

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
    involved = {name for p in review.people for name in (p.who.user.username if p.who.user else None,
                                                         *p.who.resembles) if name}
    for name in sorted(involved):
        if name not in users and (found := svc.directory.get_user(name)) is not None:
            users[name] = found
    names = list(users)[:PANEL_LIMIT]
    return [check(svc, session, cr, users[n], review) for n in names], len(users) > PANEL_LIMIT


# -- the change page ----------------------------------------------------------------------------
@bp.get("/changes/<int:change_id>")
@login_required
def show(change_id: int) -> Any:
    return render_change(change_id)


@dataclass
class Page:
    """What a re-rendered change page needs besides the CR: the forms as sent and where to put the focus."""

    form: SignForm | None = None
    comment_form: CommentForm | None = None
    problem: str | None = None      # said at the top (not about the sign form)
    sign_problem: str | None = None  # said in the sign form, next to the field that has the focus
    status: int = 200


def render_change(change_id: int, page: Page | None = None) -> Any:
    svc = services()
    me = current_user()
    assert me is not None
    page = page or Page()
    form = page.form
    with svc.store.read() as s:
        data, review = views.change_and_review(svc, change_id, s)
        cr = actions.load(s, change_id)
        verdict = rv.signing(svc, s, cr, me, review)
        signers, truncated = panel(svc, s, cr, me, review)
        entries = s.exec(select(ChangeLog).where(col(ChangeLog.seq).in_(data["log_seqs"]))
                         .order_by(col(ChangeLog.seq))).all()
        timeline = [describe(e) for e in entries]
        thread = comments.thread(s, change_id)
        changed = _since(svc, s, cr, me)
        seen = reviewing.last_seen(s, me.username, change_id)
        kept = None
        if form is None and (verdict.may_approve or verdict.may_reject):
            oldest = time.time() - svc.config.service.session_absolute_hours * 3600
            kept = reviewing.draft(s, me.username, change_id, oldest)
    if seen != cr.current_revision:
        reviewing.mark_seen(svc.store, me.username, change_id, cr.current_revision, log.utc_now())
    errors = sum(1 for f in data["findings"] if f.get("severity") == "error")
    no_approve, no_reject = list(verdict.change), list(verdict.change_reject)
    can_approve, can_reject = verdict.may_approve, verdict.may_reject
    if form is None and (can_approve or can_reject):
        form = SignForm(formdata=None)
        if kept is not None:
            form.comment.data = kept.comment
            form.meaning.data = kept.meaning if kept.decision == "approve" else None
            form.reject_meaning.data = kept.meaning if kept.decision == "reject" else None
    if form is not None:
        form.printed_name.data = me.name
        form.meaning.choices = [(m, m) for m in data["meanings"]]
        form.reject_meaning.choices = [(m, m) for m in data["reject_meanings"]]
        shown = next((r for r in data["revisions"] if r["number"] == data["revision"]), None)
        form.fingerprint.data = data["fingerprint"]
        form.ticket.data = (shown or {}).get("ticket") or ""
    withdraw = None
    if actions.withdrawal_refused(svc, cr, me) is None:  # the withdrawal's own answer
        withdraw = WithdrawForm(formdata=None)
    threads: dict[str | None, list[comments.Comment]] = {}
    for c in thread:
        threads.setdefault(c.path, []).append(c)
    return render_template(
        "changes/show.html", cr=data, form=form, problem=page.problem, sign_problem=page.sign_problem,
        focus=form.first_error() if form is not None else None, kept=kept,
        signers=signers, truncated=truncated, mine=signers[0], can_approve=can_approve, can_reject=can_reject,
        no_approve=no_approve, no_reject=no_reject, slots=_slots(data), timeline=timeline, withdraw=withdraw,
        errors=errors, threads=threads, comments=len(thread), since=changed,
        file_threads=sorted((k, v) for k, v in threads.items() if k is not None),
        comment_form=page.comment_form or CommentForm(formdata=None),
        earlier=[r["number"] for r in data["revisions"] if r["number"] < data["revision"]]), page.status


def _since(svc: Services, s: Session, cr: ChangeRequest, me: User) -> since_mod.Since | None:
    """``?since=N`` (any earlier revision), else the revision I last signed or saw."""
    chosen = request.args.get("since", "")
    if chosen.isdecimal() and 0 < int(chosen) < cr.current_revision:
        return since_mod.since(svc, s, cr, int(chosen), since_mod.CHOSEN)
    found = since_mod.baseline(s, cr, me.username)
    return since_mod.since(svc, s, cr, *found) if found else None


def _slots(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each rule with the signatures filling it and how many slots are still open."""
    out = []
    for rule in data["approvals_required"]:
        filled = [a for a in data["approvals"] if a["counts"] and a["group"] == rule["group"]]
        out.append({"group": rule["group"], "count": rule["count"], "filled": filled,
                    "open": max(0, rule["count"] - len(filled))})
    return out


# -- the signature ---------------------------------------------------------------------------------------
@bp.get("/changes/<int:change_id>/sign")
def sign_form(change_id: int) -> Any:
    """The sign form's address opened directly (a bookmark, an old sign-in link): the form, not a 405."""
    return redirect(url_for("pages_changes.show", change_id=change_id, _anchor="sign"))


@bp.post("/changes/<int:change_id>/sign")
def sign(change_id: int) -> Any:
    svc = services()
    me = current_user()
    if me is None:  # the session ended while the form was open: keep what was written, then sign in
        return keep_for_later(change_id)
    with svc.store.read() as s:
        cr = actions.load(s, change_id)
        meanings = rv.meanings_of(svc, cr)
        reject_meanings = rv.meanings_of(svc, cr, "reject")
    form = SignForm()
    form.meaning.choices = [(m, m) for m in meanings]
    form.reject_meaning.choices = [(m, m) for m in reject_meanings]
    if not form.validate_on_submit():  # the focus goes to the first field in error, which says why
        return render_change(change_id, Page(form, sign_problem="; ".join(form.form_errors) or None, status=400))
    try:
        signer = check_password(me.username, form.password.data or "")
    except AuthError as exc:
        why = failure_text(exc, _("wrong password"))
        form.password.errors = [_("%(reason)s: the signature was not recorded", reason=why)]
        return render_change(change_id, Page(form, status=401))
    except GatekeeperError as exc:  # lockout or directory down
        return render_change(change_id, Page(form, sign_problem=not_recorded(exc.message), status=exc.http_status))
    decision = form.decision or "approve"
    shown = form.fingerprint.data or None  # a form rendered before this field existed binds to nothing
    try:
        req = SignRequest(decision=decision, meaning=form.chosen_meaning, comment=form.comment.data or "",
                          fingerprint=shown, ticket=(form.ticket.data or "") if shown else None)
    except ValidationError:  # a hidden field edited by hand: it names nothing this page showed
        return render_change(change_id, Page(form, sign_problem=not_recorded(
            _("the form does not say which revision it was shown for; reload the page")), status=400))
    try:
        signing.sign(svc, change_id, signer, req)
    except GatekeeperError as exc:
        if exc.http_status >= 500:
            raise
        return render_change(change_id, Page(form, sign_problem=not_recorded(exc.message), status=exc.http_status))
    reviewing.drop_draft(svc.store, me.username, change_id)
    meaning = req.meaning or (meanings if decision == "approve" else reject_meanings)[0]
    if decision == "approve":
        done = _("Signature recorded: %(name)s approved change request %(id)s — “%(meaning)s”.",
                 name=signer.name, id=change_id, meaning=meaning)
    else:
        done = _("Signature recorded: %(name)s rejected change request %(id)s — “%(meaning)s”.",
                 name=signer.name, id=change_id, meaning=meaning)
    flash(done, "signed")  # shown where the page lands (#signed), on a phone too
    return redirect(url_for("pages_changes.show", change_id=change_id, _anchor="signed"), 303)


def keep_for_later(change_id: int) -> Any:
    """A sign form whose session ended: kept for its owner (``g.ended_user``, set only for a session that
    timed out, never for one signed out or revoked), then on to the sign-in page and back to ``#sign``."""
    owner = g.get("ended_user")
    back = url_for("pages_changes.show", change_id=change_id) + "#sign"
    if owner:
        svc = services()
        with svc.store.read() as s:
            cr = actions.load(s, change_id)
        decision = "reject" if request.form.get("reject") else "approve"
        meaning = request.form.get("reject_meaning" if decision == "reject" else "meaning", "")
        reviewing.save_draft(svc.store, owner, reviewing.Draft(
            change_id, cr.current_revision, decision, meaning[:500], request.form.get("comment", "")[:4000],
            time.time()))
        flash(_("Your session ended before the signature was sent, so nothing was recorded. Sign in again: "
                "your comment and meaning are kept for you."), "info")
    return redirect(url_for("pages_auth.login", next=back), 303)
