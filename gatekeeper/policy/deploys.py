"""Whether git made a ref update the gate allowed (SPEC §11, issue 22 item 1): confirmed, voided or unproven.

A deploy intent is confirmed only by evidence that git moved the ref from exactly ``old`` to exactly
``new``: post-receive's own ``old new ref`` line (``actions.push``) or, for an intent settled later,
a line of the ref's reflog recording that update after the intent was noted. Ancestry is never
evidence (``git merge -s ours`` puts a commit into a branch's history without its content). An
intent is voided only when the reflog covers the whole time since it was noted (it begins earlier, or
with the ref's creation) and records no such update; anything else (no reflog: the ref was deleted,
or ``core.logAllRefUpdates`` was off) leaves it unproven, an exception for the auditor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

CONFIRMED, VOIDED, UNPROVEN = "confirmed", "voided", "unproven"
# Seconds of slack around the moment an intent was noted: the reflog keeps whole seconds; the hook's
# own note is on git's clock, the service's decision time on the service's (a little skew allowed).
NOTED_SLACK = 2.0
SERVICE_SLACK = 300.0


@dataclass(frozen=True)
class Reflog:
    """What a ref's reflog says about one update (``gitio.reflog.evidence``)."""

    exists: bool
    first_at: float | None = None          # epoch seconds of its first line
    matches: tuple[float, ...] = ()        # epoch seconds of the lines recording exactly old -> new
    first_created: bool = False            # its first line created the ref: it covers the ref's whole life


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def settle(since: float, slack: float, reflog: Reflog) -> tuple[str, str]:
    """(outcome, why) for an intent noted at ``since`` (epoch seconds, ± ``slack``)."""
    start = since - slack
    hit = [t for t in reflog.matches if t >= start]
    if hit:
        return CONFIRMED, f"the ref's reflog records exactly this update at {_when(min(hit))}"
    if reflog.exists and (reflog.first_created or (reflog.first_at is not None and reflog.first_at < start)):
        return VOIDED, "the ref's reflog, which covers the time since the gate allowed it, records no such update"
    if not reflog.exists:
        return UNPROVEN, ("the ref has no reflog (it was deleted, or core.logAllRefUpdates was off), so whether git "
                          "made this update cannot be proven")
    return UNPROVEN, "the ref's reflog begins after the gate allowed this update, so it cannot prove either way"
