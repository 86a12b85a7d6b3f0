"""What people do on a change page besides signing (issue 25): comment on the change or one of its files,
and withdraw it — the withdrawal after a confirmation step (a page of its own: the CSP allows no inline
script, and a page works without any script at all).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from gatekeeper.actions import changes as actions
from gatekeeper.actions import comments
from gatekeeper.errors import Forbidden, GatekeeperError
from gatekeeper.web.auth import rate_limit
from gatekeeper.web.context import services
from gatekeeper.web.forms import CommentForm, WithdrawForm
from gatekeeper.web.pages.auth import current_user, login_required
from gatekeeper.web.pages.changes import Page, bp, render_change

CONFIRMED = "yes"


@bp.post("/changes/<int:change_id>/comments")
@login_required
def comment(change_id: int) -> Any:
    me = current_user()
    assert me is not None
    svc = services()
    rate_limit("comment", svc.config.service.rate_limit_login)  # the log keeps every comment: no flooding
    form = CommentForm()
    if not form.validate_on_submit():
        return render_change(change_id, Page(comment_form=form, problem=_("The comment was not added: see the form."),
                                             status=400))
    path = form.path.data or None
    try:
        comments.add(svc, change_id, me, form.comment.data or "", path)
    except GatekeeperError as exc:
        if exc.http_status >= 500:
            raise
        return render_change(change_id, Page(comment_form=form, problem=_("The comment was not added: %(reason)s",
                                                                          reason=exc.message),
                                             status=exc.http_status))
    flash(_("Comment added; the author and everyone who signed or commented are told."), "success")
    anchor = comments.file_anchor(path) if path else "comments"
    return redirect(url_for("pages_changes.show", change_id=change_id, _anchor=anchor), 303)


@bp.post("/changes/<int:change_id>/withdraw")
@login_required
def withdraw(change_id: int) -> Any:
    me = current_user()
    assert me is not None
    svc = services()
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400, _("The withdrawal form was incomplete."))
    if form.confirm.data != CONFIRMED:  # step one: say what it does and ask; nothing is recorded yet
        with svc.store.read() as s:
            cr = actions.load(s, change_id)
        refused = actions.withdrawal_refused(svc, cr, me)
        if refused is not None:
            return render_change(change_id, Page(problem=_("not withdrawn: %(reason)s", reason=refused.message),
                                                 status=403 if refused.code == "change.not_author" else 409))
        form.confirm.data = CONFIRMED
        return render_template("confirm.html", form=form, action=url_for("pages_changes.withdraw",
                                                                         change_id=change_id),
                               title=_("Withdraw change request %(id)s?", id=change_id),
                               question=_("“%(title)s” will be withdrawn: it can no longer be signed or deployed, "
                                          "and a new push to %(topic)s opens a new change request. The withdrawal "
                                          "is recorded in the change log with your name and reason.",
                                          title=cr.title, topic=cr.topic_ref.removeprefix("refs/heads/")),
                               fields=[form.reason], button=_("Yes, withdraw it"),
                               cancel=url_for("pages_changes.show", change_id=change_id))
    try:
        actions.withdraw(svc, change_id, me, reason=(form.reason.data or "").strip())
    except GatekeeperError as exc:
        if exc.http_status >= 500:
            raise
        status = 403 if isinstance(exc, Forbidden) else exc.http_status
        return render_change(change_id, Page(problem=_("not withdrawn: %(reason)s", reason=exc.message),
                                             status=status))
    flash(_("Change request %(id)s withdrawn.", id=change_id), "success")
    return redirect(url_for("pages_changes.show", change_id=change_id), 303)
