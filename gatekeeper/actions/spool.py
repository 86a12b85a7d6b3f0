"""Refusals the hook made while the service was unreachable, delivered from the repo's spool (SPEC §11).

The hook refused the push on its own (fail closed) and kept a record under ``<bare>/gatekeeper/spool``;
the next hook run that reaches the service hands it over, and once its seal is checked
(``actions.hookstate``) it is logged as ``push.refused`` with ``spooled`` and the time the hook
refused it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from gatekeeper.actions.payloads import SpooledIn
from gatekeeper.gitio.pushinfo import option
from gatekeeper.ledger import events as ev
from gatekeeper.policy.reasons import Code
from gatekeeper.store import log


def deliver(session: Session, repo: str, items: Sequence[SpooledIn]) -> list[str]:
    """Log each spooled refusal; returns the line telling the pusher so."""
    for item in items:
        why = ev.Reason(Code.GATE_SERVICE_UNREACHABLE, item.reason or "service unreachable")
        event = ev.PushRefused(repo=repo, pusher=item.pusher, push_options=tuple(item.push_options),
                               emergency=option(item.push_options, "emergency"), spooled=True,
                               refused_at=item.refused_at,
                               refs=tuple(ev.RefOutcome(ref=r.ref, old=r.old, new=r.new, allow=False, reasons=(why,))
                                          for r in item.refs))
        log.append(session, event, item.pusher or "")
    return [f"{len(items)} refusal(s) made while the service was unreachable are now logged"] if items else []
