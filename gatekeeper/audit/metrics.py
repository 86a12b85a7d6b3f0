"""Control metrics for a period from the database (issue 16, SPEC §11): the API and the /audit page.

The numbers and what they mean are ``verifier.metrics`` (pure, also run by the pack's verify.py);
this module feeds it: the change requests are the register's rows (``register.rows``), the
exceptions ``exceptions.exception_rows``, and refused pushes, refused signatures and drift events
come from the hash-chained log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, func, select

from gatekeeper.actions.context import Services
from gatekeeper.audit import exceptions as exc_mod
from gatekeeper.audit import register
from gatekeeper.audit.reconcile import reconcile_all
from gatekeeper.errors import InputError
from gatekeeper.ledger.events import DRIFT_DETECTED, PUSH_REFUSED, SIGN_REFUSED
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeLogRef
from gatekeeper.verifier.metrics import (
    ACCESS_METRICS,
    COUNTS,
    INCOMPLETE,
    LogFacts,
    Tally,
    approvals_complete,
    csv_rows,
    iso_week,
    quantiles,
    summarise,
)
from gatekeeper.verifier.tables import METRICS_COLUMNS


def last_seq(session: Session, change_id: int) -> int | None:
    """A change's last log seq (its deployment): what an ``incomplete-approvals`` row points at."""
    return session.exec(select(func.max(ChangeLogRef.seq)).where(ChangeLogRef.change_id == change_id)).one()


def log_facts(session: Session, start: str, end: str, repo: str | None = None, batch: int = 2000) -> LogFacts:
    """One streaming pass over the period's ``push.refused``, ``change.sign_refused`` and ``drift.detected``
    entries. A refused ref counts under the code of its primary reason (``policy.reasons.primary``);
    entries logged before reason codes read back with codes (``ledger.legacy``)."""
    from gatekeeper.audit import access

    facts = LogFacts(access=access.metrics(session, start, end))
    weeks: dict[str, str] = {}
    for e in log.of_kinds(session, [PUSH_REFUSED, SIGN_REFUSED, DRIFT_DETECTED], start=start, end=end,
                          batch=batch):
        facts.add(e.kind, e.ts, e.payload, repo, lambda cid: signed_repos(session, cid), weeks)
    return facts


def signed_repos(session: Session, change_id: object) -> set[str]:
    """The repo of the change a refused signature was for (empty when unknown)."""
    from gatekeeper.store.tables import ChangeRequest

    cr = session.get(ChangeRequest, change_id) if isinstance(change_id, int) else None
    return {cr.repo} if cr is not None else set()


def check_filters(services: Services, repo: str | None, category: str | None) -> None:
    """Unknown names are a 400, not an empty report that looks like a clean control."""
    if repo is not None and services.config.repo(repo) is None:
        raise InputError(f"repo {repo!r} is not in the policy (known: "
                         f"{', '.join(r.name for r in services.config.repos)})")
    if category is not None and category not in {c.name for c in services.config.categories}:
        raise InputError(f"category {category!r} is not in the policy (known: "
                         f"{', '.join(c.name for c in services.config.categories)})")


def compute(services: Services, start: str, end: str, *, repo: str | None = None, category: str | None = None,
            now: str | None = None, reconcile: bool = True, session: Session | None = None) -> dict[str, Any]:
    """The metrics of ``[start, end)``: register rows, log facts and the period's exceptions, in one read.

    ``reconcile`` also reads every attested bare repo reachable from here (reconciliation gaps and
    hook drift), as the evidence pack does.
    """
    check_filters(services, repo, category)
    now = now or register.utc_now()
    if session is None:
        with services.store.read() as s:
            return compute(services, start, end, repo=repo, category=category, now=now, reconcile=reconcile,
                           session=s)
    tally = Tally(start, end, repo, category)
    for row in register.rows(services, start, end, now=now, session=session, log_seqs=False):
        tally.add(row)
    found: list[dict[str, Any]] = []
    if reconcile:
        results, notes = reconcile_all(services, session, start, end)
        found = [*(row for r in results for row in r.exceptions(now)), *notes]
    return finish(session, tally, now, found)


def finish(session: Session, tally: Tally, now: str, reconcile_rows: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Log facts and exceptions added to a tally the caller filled (the evidence pack's single pass)."""
    facts = log_facts(session, tally.start, tally.end, tally.repo)
    extra = [*tally.incomplete_exceptions(lambda cid: last_seq(session, cid)), *reconcile_rows]
    exc = [e for e in exc_mod.exception_rows(session, tally.start, tally.end, now, extra)
           if tally.repo is None or e.get("repo") in (None, tally.repo)]
    drift = sum(1 for e in exc if e["kind"] == "hook-drift")
    return summarise(tally, facts, exc, hook_drift=drift)


# The pure metrics (verifier.metrics), re-exported for this module's users.
__all__ = ["ACCESS_METRICS", "COUNTS", "INCOMPLETE", "METRICS_COLUMNS", "LogFacts", "Tally", "approvals_complete",
           "check_filters", "compute", "csv_rows", "finish", "iso_week", "last_seq", "log_facts", "quantiles",
           "signed_repos", "summarise"]
