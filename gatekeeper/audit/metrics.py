"""Control metrics for a period (issue 16, SPEC §11): the numbers an auditor tests and a manager watches.

One read model: the change requests are the register's rows (``register.rows``, the same population,
the same ``retro_overdue`` and ``approvals_required``), the exceptions are ``exceptions.exception_rows``
and refused pushes come from the hash-chained log, so every number here can be traced to register
rows and log seqs in the evidence pack. The evidence pack feeds the rows it writes anyway into a
``Tally`` (one pass for both); the page and the API read them on their own.

What each count means (a change counts in a period by the moment named):
  requested   opened (requested_at) in the period, emergencies included
  approved    prior approval completed (approved_at) in the period
  deployed    deployed through the gate (deployed_at) in the period, emergencies excluded
  emergency   break-glass deployments in the period; their retrospective approval is
              ``in_time``, ``late`` (ratified after the deadline) or ``open`` (not ratified yet)
  rejected, withdrawn   changes of the period's population whose state is now rejected / withdrawn
              (counted in the week they were requested)
  deployed_with_complete_approvals   deployments whose approvals (signatures of the deployed
              content, signed before the deployment) filled every rule required; each one that did
              not is an ``incomplete-approvals`` exception
  approval_lead_time_hours   request → last approval (approved_at), of changes approved in the
              period that needed any approval: median and 90th percentile (inclusive method)
  access_reviews_signed   access reviews signed in the period (``access.review_signed``)
  access_conflicts, dormant_accounts   (person, conflict code) pairs and dormant people as of the
              last ``access.snapshot`` before the period's end (service-wide; none: no snapshot)
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, func, select

from gatekeeper.actions.context import Services
from gatekeeper.audit import exceptions as exc_mod
from gatekeeper.audit import register
from gatekeeper.audit.reconcile import reconcile_all
from gatekeeper.errors import InputError
from gatekeeper.ledger.events import (
    DRIFT_DETECTED,
    PUSH_REFUSED,
    SIGN_REFUSED,
    DriftDetected,
    PushRefused,
    RefOutcome,
    SignRefused,
)
from gatekeeper.policy.approvals import Slot, filled
from gatekeeper.policy.reasons import Code, area, primary
from gatekeeper.policy.rules import ApprovalRule
from gatekeeper.policy.states import State
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeLogRef

COUNTS = ("requested", "approved", "rejected", "deployed", "withdrawn", "emergency")
METRICS_COLUMNS = ("metric", "value")
INCOMPLETE = "incomplete-approvals"
ACCESS_METRICS = ("access_reviews_signed", "access_conflicts", "dormant_accounts")  # SPEC §12

def iso_week(ts: str, cache: dict[str, str] | None = None) -> str:
    """``2026-W05`` for an RFC 3339 timestamp (ISO 8601 weeks, Monday first)."""
    day = ts[:10]
    if cache is not None and day in cache:
        return cache[day]
    y, w, _ = date.fromisoformat(day).isocalendar()
    week = f"{y}-W{w:02d}"
    if cache is not None:
        cache[day] = week
    return week


def _hours(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 3600


def approvals_complete(row: dict[str, Any]) -> bool:
    """Did the signatures of the deployed content, given before the deployment, fill every rule?
    (``policy.approvals.filled``; ``approvals_given`` are the register's counting signatures.)"""
    deployed_at = row.get("deployed_at") or ""
    rules = [ApprovalRule(str(r["group"]), int(r["count"])) for r in row.get("approvals_required") or []]
    slots = [Slot(a.username, a.group) for a in row.get("approvals_given") or () if a.signed_at <= deployed_at]
    return filled(rules, slots)


def quantiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """Median and p90 (inclusive method: within the observed range), rounded to 10⁻⁶ h (3.6 ms)."""
    if not values:
        return {"median": None, "p90": None, "count": 0}
    if len(values) == 1:
        return {"median": round(values[0], 6), "p90": round(values[0], 6), "count": 1}
    return {"median": round(statistics.median(values), 6),
            "p90": round(statistics.quantiles(values, n=10, method="inclusive")[8], 6), "count": len(values)}


@dataclass
class Tally:
    """Accumulates register rows of one period (optionally one repo / category) into the metrics."""

    start: str
    end: str
    repo: str | None = None
    category: str | None = None
    rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    by_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_week: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    lead_times: list[float] = field(default_factory=list)
    incomplete: list[dict[str, Any]] = field(default_factory=list)
    from_current_policy: int = 0
    _weeks: dict[str, str] = field(default_factory=dict)

    def wants(self, row: dict[str, Any]) -> bool:
        return ((self.repo is None or row["repo"] == self.repo)
                and (self.category is None or self.category in row["categories"]))

    def add(self, row: dict[str, Any]) -> None:
        if not self.wants(row):
            return
        self.rows += 1
        start, end, weeks = self.start, self.end, self._weeks
        hits: list[tuple[str, str]] = []
        if start <= row["requested_at"] < end:
            hits.append(("requested", row["requested_at"]))
        approved_at, deployed_at = row["approved_at"], row["deployed_at"]
        if row["emergency"]:
            if deployed_at and start <= deployed_at < end:
                hits.append(("emergency", deployed_at))
                outcome = ("emergency_open" if not row["retro_approved_at"] else
                           "emergency_retro_late" if row["retro_overdue"] else "emergency_retro_in_time")
                self.counts[outcome] += 1
        else:
            if approved_at and start <= approved_at < end:
                hits.append(("approved", approved_at))
                if row["approvals_required"]:
                    self.lead_times.append(_hours(row["requested_at"], approved_at))
            if deployed_at and start <= deployed_at < end:
                hits.append(("deployed", deployed_at))
                if approvals_complete(row):
                    self.counts["deployed_with_complete_approvals"] += 1
                else:
                    self.incomplete.append(row)
        if row["state"] in (State.REJECTED, State.WITHDRAWN):
            hits.append((row["state"], row["requested_at"]))
        if row.get("approvals_required_source") == register.RULES_FROM_CURRENT_POLICY:
            self.from_current_policy += 1
        cats = row["categories"] or ["(none)"]
        for what, ts in hits:
            self.counts[what] += 1
            self.by_week[iso_week(ts, weeks)][what] += 1
            for c in cats:
                self.by_category[c][what] += 1

    def incomplete_exceptions(self, session: Session | None = None) -> Iterator[dict[str, Any]]:
        """``incomplete-approvals`` rows for exceptions.csv: a deployment the approvals did not cover.

        ``log_seq`` is the change's last log entry (its deployment); rows read without ``log_seqs``
        look it up in ``session``.
        """
        for row in self.incomplete:
            need = register.flat(row["approvals_required"]) or "nothing"
            got = row["approvals"] or "none"
            yield {"kind": INCOMPLETE, "at": row["deployed_at"], "actor": row["deployed_by"], "repo": row["repo"],
                   "ref": f"refs/heads/{row['target']}", "change_id": row["change_id"],
                   "detail": f"deployed without complete prior approval: required {need}; counted {got}",
                   "log_seq": row["log_seqs"][-1] if row["log_seqs"] else _last_seq(session, row["change_id"])}


def _last_seq(session: Session | None, change_id: int) -> int | None:
    if session is None:
        return None
    return session.exec(select(func.max(ChangeLogRef.seq)).where(ChangeLogRef.change_id == change_id)).one()


@dataclass
class LogFacts:
    """What the metrics read from the log itself: refused pushes (by reason code) and drift events."""

    refused_pushes: int = 0
    refused_refs: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_week: Counter[str] = field(default_factory=Counter)
    sod_refusals: int = 0
    refused_signatures: int = 0
    drift_events: int = 0
    access: dict[str, Any] = field(default_factory=dict)  # audit.access.metrics: service-wide, not per repo


def log_facts(session: Session, start: str, end: str, repo: str | None = None, batch: int = 2000) -> LogFacts:
    """One streaming pass over the period's ``push.refused``, ``change.sign_refused`` and ``drift.detected``
    entries. A refused ref counts under the code of its primary reason (``policy.reasons.primary``);
    entries logged before reason codes read back with codes (``ledger.legacy``)."""
    from gatekeeper.audit import access

    facts = LogFacts(access=access.metrics(session, start, end))
    weeks: dict[str, str] = {}
    for e in log.of_kinds(session, [PUSH_REFUSED, SIGN_REFUSED, DRIFT_DETECTED], start=start, end=end,
                          batch=batch):
        if e.kind == SIGN_REFUSED:  # a refused signature names its change, not a repo
            refused = SignRefused.from_payload(e.payload)
            if repo is None or repo in signed_repos(session, refused.change_id):
                facts.sod_refusals += 1
                facts.refused_signatures += 1
            continue
        if e.kind == DRIFT_DETECTED:
            if repo is None or DriftDetected.from_payload(e.payload).repo == repo:
                facts.drift_events += 1
            continue
        push = PushRefused.from_payload(e.payload)
        if repo is not None and push.repo != repo:
            continue
        facts.refused_pushes += 1
        facts.by_week[iso_week(e.ts, weeks)] += 1
        for r in [r for r in push.refs if not r.allow] or [RefOutcome()]:
            facts.refused_refs += 1
            first = primary(r.reasons)
            code = first.code if first is not None else Code.LEGACY_UNCLASSIFIED
            facts.by_reason[code] += 1
            facts.sod_refusals += area(code) == "sod"
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


def summarise(tally: Tally, facts: LogFacts, exceptions: Iterable[dict[str, Any]] = (),
              hook_drift: int = 0) -> dict[str, Any]:
    """The metrics document (the JSON of ``GET /api/v1/audit/metrics``)."""
    c = tally.counts
    deployed = c["deployed"]
    emergencies = c["emergency"]
    all_deployments = deployed + emergencies
    weeks = sorted(set(tally.by_week) | set(facts.by_week))
    exc_list = list(exceptions)
    return {
        "period": {"start": tally.start, "end": tally.end}, "repo": tally.repo, "category": tally.category,
        "population": tally.rows,
        **{k: c[k] for k in COUNTS},
        "emergency_retro_in_time": c["emergency_retro_in_time"], "emergency_retro_late": c["emergency_retro_late"],
        "emergency_open": c["emergency_open"],
        "emergency_share": round(emergencies / all_deployments, 4) if all_deployments else None,
        "refused_pushes": facts.refused_pushes,
        "refused_pushes_by_reason": dict(sorted(facts.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        "sod_refusals": facts.sod_refusals,
        "refused_signatures": facts.refused_signatures,
        "deployed_with_complete_approvals": c["deployed_with_complete_approvals"],
        "deployed_with_complete_approvals_share": (round(c["deployed_with_complete_approvals"] / deployed, 4)
                                                   if deployed else None),
        "approval_lead_time_hours": quantiles(tally.lead_times),
        "hook_drift": hook_drift,
        "drift_events": facts.drift_events,
        **{k: facts.access.get(k) for k in ACCESS_METRICS},
        "approvals_required_from_current_policy": tally.from_current_policy,
        "by_category": {name: {k: tally.by_category[name][k] for k in COUNTS} for name in sorted(tally.by_category)},
        "by_week": [{"week": w, **{k: tally.by_week[w][k] for k in COUNTS},
                     "refused_pushes": facts.by_week[w]} for w in weeks],
        "exceptions_total": len(exc_list),
        "exceptions_by_kind": dict(Counter(e["kind"] for e in exc_list)),
        "exceptions": exc_list,
    }


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
    extra = [*tally.incomplete_exceptions(session), *reconcile_rows]
    exc = [e for e in exc_mod.exception_rows(session, tally.start, tally.end, now, extra)
           if tally.repo is None or e.get("repo") in (None, tally.repo)]
    drift = sum(1 for e in exc if e["kind"] == "hook-drift")
    return summarise(tally, facts, exc, hook_drift=drift)


def csv_rows(metrics: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``metrics.csv`` (``metric, value``): every number flattened to a dotted name; no exception rows
    (they are in ``exceptions.csv``)."""
    def walk(prefix: str, value: Any) -> Iterator[dict[str, Any]]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and "week" in item:
                    yield from walk(f"{prefix}.{item['week']}", {k: v for k, v in item.items() if k != "week"})
        else:
            yield {"metric": prefix, "value": "" if value is None else value}

    yield from walk("", {k: v for k, v in metrics.items() if k != "exceptions"})
