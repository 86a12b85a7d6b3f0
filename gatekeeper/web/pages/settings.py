"""``/settings``: a user's language and time zone (SPEC §12) and choice of mail (issue 14) — every
mail, a daily digest, or only the mandatory reminders (emergency changes and retrospective
approvals, which cannot be turned off)."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm  # type: ignore[import-untyped]
from wtforms import RadioField, SelectField, SubmitField  # type: ignore[import-untyped]

from gatekeeper.store import log
from gatekeeper.store.tables import NotifyPref
from gatekeeper.web import i18n
from gatekeeper.web.context import services
from gatekeeper.web.pages.auth import current_user, login_required

bp = Blueprint("pages_settings", __name__)
CHOICES = [("all", _l("Every notification as it happens")),
           ("digest", _l("One daily digest of the non-mandatory notifications")),
           ("mandatory", _l("Only mandatory mail (emergency changes and retrospective-approval reminders)"))]
ZONES = sorted(available_timezones())


class MailForm(FlaskForm):  # type: ignore[misc]
    mail = RadioField(_l("E-mail notifications"), choices=CHOICES, default="all", validate_choice=True)
    submit = SubmitField(_l("Save"))


class PreferencesForm(FlaskForm):  # type: ignore[misc]
    language = SelectField(_l("Language"), choices=[], validate_choice=True)
    timezone = SelectField(_l("Time zone"), choices=[], validate_choice=True)
    submit = SubmitField(_l("Save"))


def _current(pref: NotifyPref | None) -> str:
    if pref is None:
        return "all"
    return "mandatory" if pref.opt_out else ("digest" if pref.digest else "all")


def _preferences_form(formdata: Any = None) -> PreferencesForm:
    cfg = services().config.service
    form = PreferencesForm() if formdata is None else PreferencesForm(formdata=formdata)
    form.language.choices = [(code, i18n.LANGUAGE_NAMES.get(code, code)) for code in cfg.languages]
    form.timezone.choices = [(z, z) for z in ZONES]
    return form


def _page(form: MailForm, prefs: PreferencesForm, status: int) -> Any:
    svc = services()
    me = current_user()
    assert me is not None
    if not form.is_submitted():
        with svc.store.read() as s:
            form.mail.data = _current(s.get(NotifyPref, me.username))
    if not prefs.is_submitted():
        prefs.language.data, prefs.timezone.data = i18n.language(), i18n.timezone_name()
    configured = svc.config.notify.smtp is not None
    return render_template("settings.html", form=form, prefs=prefs, configured=configured, email=me.email), status


@bp.get("/settings")
@login_required
def index() -> Any:
    return _page(MailForm(formdata=None), _preferences_form(formdata=None), 200)


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
        flash(_("Your mail settings were saved."), "success")
        return redirect(url_for("pages_settings.notifications"), 303)
    return _page(form, _preferences_form(formdata=None), 400 if form.is_submitted() else 200)


@bp.post("/settings/language")
@login_required
def language() -> Any:
    svc = services()
    me = current_user()
    assert me is not None
    prefs = _preferences_form()
    if not prefs.validate_on_submit():
        return _page(MailForm(formdata=None), prefs, 400)
    with svc.store.write() as s:
        i18n.save_preferences(s, me.username, prefs.language.data, prefs.timezone.data)
    from flask import g
    from flask_babel import refresh

    g.pop("gk_prefs", None)  # this response already speaks the new language
    refresh()
    flash(_("Your language and time zone were saved."), "success")
    return redirect(url_for("pages_settings.index"), 303)
