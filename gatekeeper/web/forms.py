"""The page forms (flask-wtf): every POST form carries a CSRF token; GET filters do not need one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm  # type: ignore[import-untyped]
from wtforms import (  # type: ignore[import-untyped]
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from gatekeeper.period import PeriodError

DATE = r"^\d{4}-\d{2}-\d{2}$"


def field_attrs(field: Any, *, focus: str | None = None, problem: str | None = None, autofocus: bool = False,
                **extra: Any) -> dict[str, Any]:
    """A field's HTML attributes for a form sent back with errors (WCAG 3.3.1): ``aria-invalid``, its
    error (and the form's ``problem`` when it has the focus) as ``aria-describedby``, and ``autofocus``
    on the field the page puts the focus on, so the error is said once, where the reader is."""
    attrs: dict[str, Any] = {"id": field.name, **extra}
    described = [problem] if problem and focus == field.name else []
    if field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{field.name}-error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if autofocus or focus == field.name:
        attrs["autofocus"] = True
    return attrs
DATE_HINT = _l("use YYYY-MM-DD, for example 2026-05-01")


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=256)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class SignForm(FlaskForm):
    """A Part 11 style electronic signature: printed name, meaning, comment, password re-entered.

    The printed name is shown read-only and never read back: the signature takes the name from the
    directory, so a tampered form cannot sign in someone else's name.
    """

    printed_name = StringField(_l("Printed name"), render_kw={"readonly": True})
    comment = TextAreaField(_l("Comment (required to reject)"), validators=[Optional(), Length(max=4000)],
                            render_kw={"rows": 3})
    password = PasswordField(_l("Your password (re-entered for this signature)"),
                             validators=[DataRequired(message=_l("enter your password to sign")),
                                         Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    # SPEC §12 "Meanings": an approval carries one of the policy's ``meanings``, a rejection one of its
    # ``reject_meanings``; each decision has its own list, checked below for the decision taken.
    meaning = SelectField(_l("Meaning of your approval"), choices=[], validate_choice=False)
    approve = SubmitField(_l("Approve"))
    reject_meaning = SelectField(_l("Meaning of your rejection"), choices=[], validate_choice=False)
    reject = SubmitField(_l("Reject"))
    # What the page showed (issue 22 item 5): a push between reading and signing makes the signature a 409,
    # never an approval of content or a ticket the signer did not see.
    fingerprint = HiddenField()
    ticket = HiddenField()

    @property
    def decision(self) -> str | None:
        if self.reject.data:
            return "reject"
        if self.approve.data:
            return "approve"
        return None

    @property
    def chosen_meaning(self) -> str:
        field = self.reject_meaning if self.decision == "reject" else self.meaning
        return str(field.data or "")

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.decision is None:
            self.form_errors.append(str(_l("choose Approve or Reject")))
            ok = False
        if self.decision == "reject" and not (self.comment.data or "").strip():
            self.comment.errors = [*self.comment.errors, str(_l("a comment is required to reject"))]
            ok = False
        field = self.reject_meaning if self.decision == "reject" else self.meaning
        if self.decision and field.data and field.data not in {value for value, _label in field.choices}:
            field.errors = [*field.errors, str(_l("choose one of the meanings offered"))]
            ok = False
        return ok

    def first_error(self) -> str | None:
        """The id of the first field with an error, where the page puts the focus."""
        for name in ("comment", "password", "meaning", "reject_meaning"):
            if getattr(self, name).errors:
                return name
        return None


class WithdrawForm(FlaskForm):
    """Withdrawing takes two steps (issue 25): the form, then a page that asks to confirm (``confirm``)."""

    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=1000)])
    confirm = HiddenField()
    submit = SubmitField(_l("Withdraw this change request"))


class CommentForm(FlaskForm):
    """A comment on the change, or on one of its files (``path``)."""

    comment = TextAreaField(_l("Your comment"), validators=[DataRequired(message=_l("write a comment first")),
                                                            Length(max=4000)], render_kw={"rows": 3})
    path = HiddenField()
    submit = SubmitField(_l("Add comment"))


class DriftCheckForm(FlaskForm):
    """"Check now" for one live source (admins and auditors)."""

    source = HiddenField(validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Check now"))


class LogoutForm(FlaskForm):
    submit = SubmitField(_l("Sign out"))


class RevokeForm(FlaskForm):
    """"Sign out everywhere" takes two steps (issue 25): the form, then a page that asks to confirm."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=256)])
    confirm = HiddenField()
    submit = SubmitField(_l("Sign out everywhere"))


class PeriodForm(FlaskForm):
    """The auditor's period picker (GET, so no CSRF token: it only selects what to show)."""

    class Meta:
        csrf = False

    start = StringField(_l("From"), name="from", validators=[Optional(), Regexp(DATE, message=DATE_HINT)])
    end = StringField(_l("To (inclusive)"), name="to", validators=[Optional(), Regexp(DATE, message=DATE_HINT)])
    submit = SubmitField(_l("Show"))


def period_problem(exc: PeriodError) -> str:
    """``gatekeeper.period``'s refusal in the reader's language, naming the field as the page labels
    it; the value is shown with its control characters escaped."""
    from gatekeeper.period import FIRST_DAY, LAST_DAY
    from gatekeeper.terminal import escape

    field = str({"from": _l("From"), "to": _l("To (inclusive)")}.get(exc.param, exc.param))
    value = escape(exc.value[:40])
    if exc.problem == "empty":
        return _("%(field)s is after %(other)s: the period would be empty; swap them.", field=field,
                 other=str(_l("To (inclusive)")))
    if exc.problem == "out_of_range":
        return _("%(field)s: “%(value)s” is out of range: use a date from %(first)s to %(last)s.", field=field,
                 value=value, first=FIRST_DAY, last=LAST_DAY)
    if exc.problem == "no_such_day":
        return _("%(field)s: there is no day “%(value)s”: use YYYY-MM-DD, for example 2026-05-01.", field=field,
                 value=value)
    return _("%(field)s: “%(value)s” is not a date: use YYYY-MM-DD, for example 2026-05-01.", field=field, value=value)


class OpenReviewForm(FlaskForm):
    """Open an access review campaign for one repo or every repo (``repo`` "": every repo)."""

    repo = SelectField(_l("Scope of the new review"), choices=[], validate_choice=True)
    submit = SubmitField(_l("Open an access review"))


class DecideForm(FlaskForm):
    """Keep or revoke the rows ticked on the page (``row`` checkboxes, read from the request)."""

    comment = TextAreaField(_l("Comment (required to revoke)"), validators=[Optional(), Length(max=4000)],
                            render_kw={"rows": 2})
    keep = SubmitField(_l("Keep the selected rights"))
    revoke = SubmitField(_l("Revoke the selected rights"))

    @property
    def decision(self) -> str | None:
        return "revoke" if self.revoke.data else "keep" if self.keep.data else None

    def validate(self, extra_validators: Any = None) -> bool:
        """Said at the field, in the reader's language; the use case refuses it too (fail closed)."""
        ok = super().validate(extra_validators)
        if self.decision == "revoke" and not (self.comment.data or "").strip():
            self.comment.errors = [*self.comment.errors, str(_l("a comment is required to revoke"))]
            ok = False
        return ok


class SignReviewForm(FlaskForm):
    """The whole review signed like an approval: printed name, meaning, password re-entered."""

    printed_name = StringField(_l("Printed name"), render_kw={"readonly": True})
    meaning = SelectField(_l("Meaning of this signature"), choices=[], validate_choice=True)
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 2})
    password = PasswordField(_l("Your password (re-entered for this signature)"),
                             validators=[DataRequired(message=_l("enter your password to sign")), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Sign the access review"))
