"""``/access``: who may change and approve what, the conflicting combinations, joiners and leavers, and
the signed access reviews (SPEC §12, issue 24). Admins, auditors and access reviewers may look;
only access reviewers open, decide and sign (checked on every route, not only in the navigation).

A review is signed exactly as an approval is: the password re-entered through ``check_password``
(the same lockout), the meaning chosen, the name taken from the directory, never from the form.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from gatekeeper.actions import access as actions
from gatekeeper.actions import access_review as campaigns
from gatekeeper.errors import AuthError, GatekeeperError, InputError
from gatekeeper.store.log import utc_now
from gatekeeper.web.auth import check_password
from gatekeeper.web.context import services
from gatekeeper.web.downloads import MIMETYPES, SPOOL_BYTES
from gatekeeper.web.forms import DecideForm, OpenReviewForm, SignReviewForm
from gatekeeper.web.labels import access_label
from gatekeeper.web.pages.auth import current_roles, current_user, failure_text, role_required
from gatekeeper.web.pages.changes import not_recorded

bp = Blueprint("pages_access", __name__)

VIEW_ROLES = ("auditors", "admins", "access_reviewers")
PER_PAGE = 200
CHANGES_DAYS = 30
CHANGES_LIMIT = 200


def _page() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isdecimal() and 0 < int(page) <= 10**6 else 1


def _repo() -> str | None:
    repo = request.args.get("repo") or None
    actions.check_repo(services().config, repo)
    return repo


def _open_form() -> OpenReviewForm | None:
    if "access_reviewers" not in current_roles():
        return None
    form = OpenReviewForm(formdata=None)
    form.repo.choices = _scopes()
    return form


def _scopes() -> list[tuple[str, str]]:
    """The open form's choices: "" (every repo) and each repo of the policy."""
    return [("", _("every repo")), *((r, r) for r in _repos())]


@bp.get("/access")
@role_required(*VIEW_ROLES)
def index() -> Any:
    svc = services()
    try:
        repo = _repo()
    except InputError as exc:
        return render_template("access/index.html", problem=exc.message, review=None, rows=[], page=1, pages=1,
                               pending=[],
                               changes=[], campaigns=[], open_form=_open_form(), repos=_repos(), repo=None), 400
    found = actions.review(svc, repo)
    page = _page()
    pages = max(1, -(-len(found.rows) // PER_PAGE))
    now = services().clock()
    since = (now - timedelta(days=CHANGES_DAYS)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with svc.store.read() as s:
        changes = actions.change_rows(s, since, utc_now())
        listed = [(c, campaigns.progress(s, c.id or 0)) for c in campaigns.campaigns(s)]
        pending = actions.pending_revocations(s)
    return render_template("access/index.html", problem=None, review=found, pending=pending,
                           rows=found.rows[(page - 1) * PER_PAGE:page * PER_PAGE], page=page, pages=pages,
                           changes=changes[-CHANGES_LIMIT:], changes_total=len(changes), changes_days=CHANGES_DAYS,
                           campaigns=listed, open_form=_open_form(), repos=_repos(), repo=repo)


def _repos() -> list[str]:
    return [r.name for r in services().config.repos]


@bp.get("/access/export")
@role_required(*VIEW_ROLES)
def export() -> Response:
    from gatekeeper.audit.access import FORMATS, write_review

    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        raise InputError(f"format must be one of: {', '.join(FORMATS)}")
    repo = _repo()
    found = actions.review(services(), repo)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by send_file
    write_review(found, fmt, spool)  # type: ignore[arg-type]
    spool.seek(0)
    name = f"access-review_{repo or 'all'}_{found.at[:10]}.{fmt}"
    return send_file(spool, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=name, max_age=0)  # type: ignore[arg-type]


@bp.post("/access/reviews")
@role_required("access_reviewers")
def open_review() -> Any:
    form = OpenReviewForm()
    form.repo.choices = _scopes()
    me = current_user()
    assert me is not None
    if not form.validate_on_submit():
        flash(_("The access review was not opened: choose a scope."), "error")
        return redirect(url_for("pages_access.index"), 303)
    try:
        review_id = campaigns.open_review(services(), me, form.repo.data or None)
    except GatekeeperError as exc:
        if exc.http_status >= 500:
            raise
        flash(_("The access review was not opened: %(reason)s", reason=exc.message), "error")
        return redirect(url_for("pages_access.index"), 303)
    flash(_("Access review %(id)s opened.", id=review_id), "success")
    return redirect(url_for("pages_access.show", review_id=review_id), 303)


@bp.get("/access/reviews/<int:review_id>")
@role_required(*VIEW_ROLES)
def show(review_id: int) -> Any:
    return render_review(review_id)


def render_review(review_id: int, *, decide: DecideForm | None = None, sign: SignReviewForm | None = None,
                  problem: str | None = None, status: int = 200) -> Any:
    import json

    me = current_user()
    assert me is not None
    undecided = request.args.get("undecided") == "1"
    page = _page()
    with services().store.read() as s:
        campaign = campaigns.load(s, review_id)
        done = campaigns.progress(s, review_id)
        rows = campaigns.rows_of(s, review_id, undecided=undecided, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    shown = done.rows - done.decided if undecided else done.rows
    reviewer = "access_reviewers" in current_roles() and campaign.state == "open"
    if reviewer and decide is None:
        decide = DecideForm(formdata=None)
    if reviewer and done.decided == done.rows and sign is None:
        sign = SignReviewForm(formdata=None)
    if sign is not None:
        sign.printed_name.data = me.name
        sign.meaning.choices = [(m, m) for m in campaigns.MEANINGS]
    return render_template("access/review.html", campaign=campaign, done=done, problem=problem,
                           rows=[(r, json.loads(r.columns)) for r in rows], page=page,
                           pages=max(1, -(-shown // PER_PAGE)), undecided=undecided,
                           decide=decide if reviewer else None, sign=sign if reviewer else None), status


def _refused(exc: GatekeeperError, review_id: int, problem: str, **forms: Any) -> Any:
    """The page again with why nothing was recorded; a 5xx (database, directory) goes to the error page."""
    if exc.http_status >= 500:
        raise exc
    return render_review(review_id, problem=problem, status=exc.http_status, **forms)


@bp.post("/access/reviews/<int:review_id>/decide")
@role_required("access_reviewers")
def decide(review_id: int) -> Any:
    me = current_user()
    assert me is not None
    form = DecideForm()
    picked = request.form.getlist("row")
    if not form.validate_on_submit() or form.decision is None:
        return render_review(review_id, decide=form, problem=_("nothing was recorded: see the form"), status=400)
    if not all(p.isdecimal() and 0 < int(p) <= 10**7 for p in picked):
        return render_review(review_id, decide=form, problem=_("nothing was recorded: unknown rows"), status=400)
    try:
        n = campaigns.decide(services(), review_id, me, [int(p) for p in picked], form.decision,
                             form.comment.data or "")
    except GatekeeperError as exc:
        return _refused(exc, review_id, _("nothing was recorded: %(reason)s", reason=exc.message), decide=form)
    flash(ngettext("%(num)s row decided: %(decision)s.", "%(num)s rows decided: %(decision)s.", n,
                   decision=access_label(form.decision)), "success")
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k in ("page", "undecided")}
    return redirect(url_for("pages_access.show", review_id=review_id, **args), 303)


@bp.post("/access/reviews/<int:review_id>/sign")
@role_required("access_reviewers")
def sign(review_id: int) -> Any:
    me = current_user()
    assert me is not None
    form = SignReviewForm()
    form.meaning.choices = [(m, m) for m in campaigns.MEANINGS]
    if not form.validate_on_submit():
        return render_review(review_id, sign=form, problem=_("the signature was not recorded: see the form"),
                             status=400)
    try:
        signer = check_password(me.username, form.password.data or "")
    except AuthError as exc:
        form.password.errors = [failure_text(exc, _("wrong password"))]
        return render_review(review_id, sign=form, status=401,
                             problem=_("%(reason)s: the signature was not recorded",
                                       reason=failure_text(exc, _("wrong password"))))
    except GatekeeperError as exc:  # lockout or directory down: said on the page, whatever the status
        return render_review(review_id, sign=form, problem=not_recorded(exc.message), status=exc.http_status)
    try:
        seq = campaigns.sign(services(), review_id, signer, form.meaning.data or "", form.comment.data or "")
    except GatekeeperError as exc:
        return _refused(exc, review_id, not_recorded(exc.message), sign=form)
    flash(_("Signature recorded: %(name)s signed access review %(id)s (log seq %(seq)s).",
            name=signer.name, id=review_id, seq=seq), "success")
    return redirect(url_for("pages_access.show", review_id=review_id), 303)
