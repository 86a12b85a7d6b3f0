"""The change ticket a CR must carry (SPEC §11): pure, so the push, the page and the tests agree.

Per category ``ticket = "required" | "optional"`` and ``ticket_pattern`` (a regex the WHOLE id must
match: ``re.fullmatch``, so ``^CHG[0-9]{7}$`` and ``CHG[0-9]{7}`` mean the same and a ticket with
trailing junk never passes). A CR with several categories must satisfy every one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gatekeeper.policy.reasons import Code

TICKET_PATH = "(change ticket)"  # the "path" of the blocking finding: it concerns the CR, not a file
TRAILER = "Change-Ticket"
MAX_TICKET = 200


class _TicketRule(Protocol):
    """What a category says about tickets (structurally ``config.Category``)."""

    @property
    def name(self) -> str: ...
    @property
    def ticket(self) -> str: ...
    @property
    def ticket_pattern(self) -> str | None: ...


@dataclass(frozen=True)
class TicketFinding:
    code: str
    message: str
    severity: str = "error"

    def to_dict(self) -> dict[str, str]:
        return {"path": TICKET_PATH, "location": "ticket", "severity": self.severity, "code": self.code,
                "message": self.message}


def choose(option: str | None, trailers: Iterable[str]) -> str:
    """The push option ``gatekeeper.ticket`` wins; else the first ``Change-Ticket:`` trailer value."""
    if option and option.strip():
        return option.strip()
    return next((t.strip() for t in trailers if t.strip()), "")


def check(ticket: str, categories: Sequence[_TicketRule]) -> list[TicketFinding]:
    """Blocking findings naming what is missing or wrong; empty when the ticket satisfies every category."""
    out: list[TicketFinding] = []
    ticket = ticket.strip()
    required = sorted(c.name for c in categories if c.ticket == "required")
    if not ticket:
        if required:
            out.append(TicketFinding(Code.TICKET_MISSING, f"a change ticket is required by {', '.join(required)}: "
                                     f"push with -o gatekeeper.ticket=<id> or add a '{TRAILER}: <id>' trailer to a "
                                     "commit"))
        return out
    if len(ticket) > MAX_TICKET or any(ch in ticket for ch in "\r\n\x00"):
        return [TicketFinding(Code.TICKET_MALFORMED,
                              "the change ticket id is not a single line of at most 200 characters")]
    for cat in categories:
        pattern = cat.ticket_pattern
        if pattern and re.fullmatch(pattern, ticket) is None:
            out.append(TicketFinding(Code.TICKET_PATTERN,
                                     f"change ticket {ticket!r} does not match the pattern {pattern} of {cat.name}"))
    return out


def state_allowed(state: str | None, allowed: Sequence[str]) -> bool:
    """An ITSM state counts only when it is one of ``allowed_states`` (case-insensitive, trimmed)."""
    if not state:
        return False
    wanted = {a.strip().casefold() for a in allowed}
    return state.strip().casefold() in wanted
