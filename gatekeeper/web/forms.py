"""The page forms (flask-wtf): every POST form carries a CSRF token; GET filters do not need one."""

from __future__ import annotations

from typing import Any

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

DATE = r"^\d{4}-\d{2}-\d{2}$"
DATE_HINT = "use YYYY-MM-DD"


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=256)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField("Sign in")


class SignForm(FlaskForm):
    """A Part 11 style electronic signature: printed name, meaning, comment, password re-entered.

    The printed name is shown read-only and never read back: the signature takes the name from the
    directory, so a tampered form cannot sign in someone else's name.
    """

    printed_name = StringField("Printed name", render_kw={"readonly": True})
    meaning = SelectField("Meaning of this signature", choices=[], validate_choice=True)
    comment = TextAreaField("Comment (required to reject)", validators=[Optional(), Length(max=4000)],
                            render_kw={"rows": 3})
    password = PasswordField("Your password (re-entered for this signature)",
                             validators=[DataRequired(message="enter your password to sign"),
                                         Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    approve = SubmitField("Approve")
    reject = SubmitField("Reject")

    @property
    def decision(self) -> str | None:
        if self.reject.data:
            return "reject"
        if self.approve.data:
            return "approve"
        return None

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.decision is None:
            self.form_errors.append("choose Approve or Reject")
            ok = False
        if self.decision == "reject" and not (self.comment.data or "").strip():
            self.comment.errors = [*self.comment.errors, "a comment is required to reject"]
            ok = False
        return ok


class WithdrawForm(FlaskForm):
    reason = StringField("Reason (optional)", validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Withdraw this change request")


class LogoutForm(FlaskForm):
    submit = SubmitField("Sign out")


class RevokeForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=256)])
    submit = SubmitField("Sign out everywhere")


class PeriodForm(FlaskForm):
    """The auditor's period picker (GET, so no CSRF token: it only selects what to show)."""

    class Meta:
        csrf = False

    start = StringField("From", name="from", validators=[Optional(), Regexp(DATE, message=DATE_HINT)],
                        render_kw={"type": "date"})
    end = StringField("To (inclusive)", name="to", validators=[Optional(), Regexp(DATE, message=DATE_HINT)],
                      render_kw={"type": "date"})
    submit = SubmitField("Show")


class OpenReviewForm(FlaskForm):
    """Open an access review campaign for one repo or every repo (``repo`` "": every repo)."""

    repo = SelectField("Scope of the new review", choices=[], validate_choice=True)
    submit = SubmitField("Open an access review")


class DecideForm(FlaskForm):
    """Keep or revoke the rows ticked on the page (``row`` checkboxes, read from the request)."""

    comment = TextAreaField("Comment (required to revoke)", validators=[Optional(), Length(max=4000)],
                            render_kw={"rows": 2})
    keep = SubmitField("Keep the selected rights")
    revoke = SubmitField("Revoke the selected rights")

    @property
    def decision(self) -> str | None:
        return "revoke" if self.revoke.data else "keep" if self.keep.data else None


class SignReviewForm(FlaskForm):
    """The whole review signed like an approval: printed name, meaning, password re-entered."""

    printed_name = StringField("Printed name", render_kw={"readonly": True})
    meaning = SelectField("Meaning of this signature", choices=[], validate_choice=True)
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=4000)], render_kw={"rows": 2})
    password = PasswordField("Your password (re-entered for this signature)",
                             validators=[DataRequired(message="enter your password to sign"), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Sign the access review")
