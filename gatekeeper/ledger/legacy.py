"""Codes for reasons logged before reason codes existed (SPEC §12): the one place English is matched.

Until reason codes, a refusal, finding or SoD reason was logged as its sentence alone. The log is
immutable, so those entries keep their sentences; when one is read (``events.Reason.coerce``), its
code is derived here from the wording the code base used at the time (``policy/gate.py``,
``policy/sod.py``, ``policy/emergency.py``, ``actions/push.py``), first match wins. Nothing written
since carries a bare sentence, so this table never grows: a new reason gets its code where it is made.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

UNCLASSIFIED = "legacy.unclassified"

# (code, words any of which identify it), in the order the metrics used to classify refusals.
WORDINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gate.no_pusher", ("no pusher identity",)),
    ("gate.unknown_repo", ("is not in the service's policy", "is not in the policy")),
    ("gate.directory_unavailable", ("directory unreachable", "directory unavailable", "cannot be re-checked")),
    ("emergency.not_allowed", ("may not push emergency",)),
    ("emergency.disabled", ("emergency changes are disabled",)),
    ("emergency.no_reason", ("gatekeeper.emergency needs",)),
    ("gate.delete_protected", ("deleting a protected branch",)),
    ("gate.non_fast_forward", ("non-fast-forward",)),
    ("gate.not_a_copy", ("must be an exact copy", "must start as an exact copy")),
    ("path.malformed", ("malformed path",)),
    ("sod.unknown_pusher", ("unknown pusher", "is not a directory user")),
    ("sod.unauthorized_author", ("unauthorized author",)),
    ("sod.self", ("cannot approve a change they took part in", "took part in")),
    ("sod.not_in_group", ("not in an approving group", "any more")),
    ("sod.unknown_signer", ("user not found in the directory",)),
    ("sod.one_slot", ("one slot",)),
    ("sod.slots_filled", ("is already filled",)),
    ("sod.no_approval_needed", ("needs no approval",)),
    ("change.validation_errors", ("validation error",)),
    ("gate.overlap", ("overlap or are not included whole",)),
    ("gate.not_whole", ("does not deploy that CR whole",)),
    ("gate.content_differs", ("content differs from what CR",)),
    ("ticket.missing", ("a change ticket is required",)),
    ("approval.missing", ("lacks ",)),
    ("gate.unapproved_file", ("no change request covers it", "needs ")),
    ("change.not_signable", ("signatures are taken while",)),
    ("change.not_approved", ("not approved", " is pending", " is rejected")),
    ("gate.changed_meanwhile", ("changed while this push was checked",)),
    ("gate.being_deployed", ("is being deployed by another push",)),
    ("gate.no_decision", ("no gate decision",)),
    ("gate.service_unreachable", ("service unreachable", "unreachable")),
)


@lru_cache(maxsize=1024)
def code_of(message: str) -> str:
    """The code of a reason logged as a bare sentence (``legacy.unclassified`` when no wording matches).
    Remembered for the last 1,024 sentences: a log repeats a few thousand times the same few."""
    low = message.lower()
    for code, words in WORDINGS:
        if any(w in low for w in words):
            return code
    return UNCLASSIFIED


FINDING_FALLBACK = "format.invalid"


def with_code(finding: dict[str, Any]) -> dict[str, Any]:
    """A stored finding (``revision.findings``) with its reason code: findings stored before codes
    existed get theirs from their wording, else ``format.invalid`` (what a format module reports)."""
    if "code" in finding:
        return finding
    code = code_of(str(finding.get("message", "")))
    return {**finding, "code": code if code != UNCLASSIFIED else FINDING_FALLBACK}
