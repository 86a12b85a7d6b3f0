"""Words the pages show for SPEC's fixed values (states, change kinds, severities, access rights and
decisions, HTTP statuses).

The values themselves (``retro-approved``, ``error``) stay as SPEC spells them in the API, the log and
the exports; only their label on a page is translated. Signature meanings are not here: they are
shown as the policy words them.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

STATES = {
    "pending": _l("pending"), "approved": _l("approved"), "rejected": _l("rejected"),
    "withdrawn": _l("withdrawn"), "deployed": _l("deployed"), "emergency": _l("emergency"),
    "retro-approved": _l("retro-approved"),
}
KINDS = {"added": _l("added"), "removed": _l("removed"), "changed": _l("changed"), "moved": _l("moved")}
SEVERITIES = {"error": _l("error"), "warning": _l("warning")}
ACCESS = {  # access review (SPEC §12): rights, decisions, review states, snapshot changes; conflict codes stay codes
    "author": _l("author"), "approve": _l("approve"), "emergency": _l("emergency"), "audit": _l("audit"),
    "admin": _l("admin"), "keep": _l("keep"), "revoke": _l("revoke"), "open": _l("open"), "signed": _l("signed"),
    "baseline": _l("baseline"), "gained": _l("gained"), "lost": _l("lost"), "changed": _l("changed"),
    "disabled": _l("disabled"),
}
DRIFT = {"in line": _l("in line"), "drift": _l("drift"), "error": _l("error")}
STATUS = {400: _l("Bad request"), 401: _l("Sign-in required"), 403: _l("Not allowed"), 404: _l("Not found"),
          405: _l("Method not allowed"), 409: _l("Conflict"), 413: _l("Too large"), 429: _l("Too many requests"),
          500: _l("Internal error"), 501: _l("Not available"), 503: _l("Unavailable")}


STANDINGS = {  # policy.status.Standing: only those a state label does not already say
    "blocked": _l("blocked"), "superseded": _l("superseded"),
}
NEXT_STEPS = {  # policy.status.Next, said to everyone reading the change (the author acts on most)
    "fix_findings": _l("Fix the validation errors and push a new revision to %(topic)s."),
    "authorized_push": _l("A member of the category's authors groups must push it (push it again from such an "
                          "account)."),
    "known_pusher": _l("Push it again as a user the directory knows."),
    "fix_and_push": _l("Fix what blocks it and push a new revision to %(topic)s."),
    "push_or_withdraw": _l("A new push to %(topic)s with other content reopens it; or withdraw it."),
    "use_newer": _l("Change request %(newer)s continues this branch: review that one; this one can be withdrawn."),
    "push_again": _l("Nothing more here: a new push to %(topic)s opens a new change request."),
    "sign": _l("Approvers sign it (or reject it with a comment)."),
    "retro": _l("Approvers sign it retrospectively."),
    "merge": _l("Approved: anyone allowed to push may merge it into %(target)s."),
    "none": _l("Nothing: it is done."),
}


def standing_label(value: str) -> str:
    return str(STANDINGS.get(value, value))


def next_step(status: dict[str, object], topic: str, target: str) -> str:
    """The next step of a ``policy.status`` answer (its ``to_dict``), in the reader's language."""
    text = NEXT_STEPS.get(str(status.get("next")), NEXT_STEPS["none"])
    return str(text) % {"topic": topic.removeprefix("refs/heads/"), "target": target,
                        "newer": status.get("superseded_by") or ""}


def state_label(value: str) -> str:
    return str(STATES.get(value, value))


def kind_label(value: str) -> str:
    return str(KINDS.get(value, value))


def severity_label(value: str) -> str:
    return str(SEVERITIES.get(value, value))


def access_label(value: str) -> str:
    return str(ACCESS.get(value, value))


def drift_label(value: str) -> str:
    return str(DRIFT.get(value, value))


def status_title(status: int) -> str:
    return str(STATUS.get(status, _("Error")))


def period_label(start: str | None, end: str | None) -> str:
    """The one way pages and the report write a period: ``2026-05-01 – 2026-05-31`` (UTC days, both
    included); an open end says so."""
    first = start or _("the beginning")
    last = end or _("now")
    return f"{first} – {last}"
