"""``/settings/notifications``: a user's choice of mail (issue 14) — every mail, a daily digest, or only
the mandatory reminders (emergency changes and retrospective approvals, which cannot be turned off)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm  # type: ignore[import-untyped]
from wtforms import RadioField, SubmitField  # type: ignore[import-untyped]

from gatekeeper.store import log
from gatekeeper.store.tables import NotifyPref
from gatekeeper.web.context import services
from gatekeeper.web.pages.auth import current_user, login_required

bp = Blueprint("pages_settings", __name__)
CHOICES = [("all", "Every notification as it happens"),
           ("digest", "One daily digest of the non-mandatory notifications"),
           ("mandatory", "Only mandatory mail (emergency changes and retrospective-approval reminders)")]


class MailForm(FlaskForm):  # type: ignore[misc]
    mail = RadioField("E-mail notifications", choices=CHOICES, default="all", validate_choice=True)
    submit = SubmitField("Save")


def _current(pref: NotifyPref | None) -> str:
    if pref is None:
        return "all"
    return "mandatory" if pref.opt_out else ("digest" if pref.digest else "all")


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def notifications() -> Any:
    svc = services()
    me = current_user()
    assert me is not None
    form = MailForm()
    if form.validate_on_submit():
        choice = form.mail.data
        with svc.store.write() as s:
            pref = s.get(NotifyPref, me.username) or NotifyPref(username=me.username)
            pref.opt_out, pref.digest, pref.updated_at = choice == "mandatory", choice == "digest", log.utc_now()
            s.add(pref)
        flash("Your mail settings were saved.", "success")
        return redirect(url_for("pages_settings.notifications"), 303)
    status = 400 if form.is_submitted() else 200
    if not form.is_submitted():
        with svc.store.read() as s:
            form.mail.data = _current(s.get(NotifyPref, me.username))
    configured = svc.config.notify.smtp is not None
    return render_template("settings.html", form=form, configured=configured, email=me.email), status
