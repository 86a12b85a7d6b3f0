"""Control metrics for a period (issue 16, SPEC §11): the numbers an auditor tests and a manager watches.

Pure, standard library only (bundled into verify.py): the pack's ``metrics.csv`` is recomputed by
the verifier from the register rows and log entries the projection yields. ``audit/metrics.py``
feeds the same ``Tally`` and ``LogFacts`` from the database for the API and the /audit page.

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
  refused_pushes_by_reason   refused refs per reason code, each under its primary code
              (``policy.codes``; entries logged before codes by the code their wording had)
  access_reviews_signed   access reviews signed in the period (``access.review_signed``)
  access_conflicts, dormant_accounts   (person, conflict code) pairs and dormant people as of the
              last ``access.snapshot`` before the period's end (service-wide; none: no snapshot)
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gatekeeper.ledger.legacy import UNCLASSIFIED, code_of
from gatekeeper.policy.codes import area, primary_code
from gatekeeper.verifier.tables import RULES_FROM_CURRENT_POLICY, flat

COUNTS = ("requested", "approved", "rejected", "deployed", "withdrawn", "emergency")
DRIFT_DETECTED = "drift.detected"  # SPEC §11 drift kind; counted when the drift checker logs it
PUSH_REFUSED = "push.refused"
SIGN_REFUSED = "change.sign_refused"
INCOMPLETE = "incomplete-approvals"
NO_CATEGORY = ("(none)",)  # the category a change of none counts under
# The keys of a register row ``Tally.add`` reads (``approvals_complete`` too).
TALLIED = ("repo", "categories", "requested_at", "approved_at", "deployed_at", "emergency", "retro_approved_at",
           "retro_overdue", "approvals_required", "approvals_given", "state", "approvals_required_source")

ACCESS_METRICS = ("access_reviews_signed", "access_conflicts", "dormant_accounts")  # SPEC §12


def reason_code(reason: Any) -> str:
    """The code of one logged reason: ``{"code", "message"}``, or a bare sentence logged before codes
    existed (its code from its wording, ``ledger.legacy``), as ``ledger.events.Reason.coerce`` reads it."""
    if isinstance(reason, Mapping):
        return str(reason.get("code") or "")
    return code_of(str(reason))


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


def approvals_complete(row: Mapping[str, Any]) -> bool:
    """Did the signatures of the deployed content, given before the deployment, fill every rule?"""
    deployed_at = row.get("deployed_at") or ""
    for rule in row.get("approvals_required") or []:  # ``policy.approvals.filled``: one slot per person and group
        signers = {a[0] for a in row.get("approvals_given") or () if a[1] == rule["group"] and a[3] <= deployed_at}
        if len(signers) < int(rule["count"]):
            return False
    return True


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
    """Accumulates register rows of one period (optionally one repo / category) into the metrics.

    Speed (a pack's register has a hundred thousand rows): ``add`` counts rows by their categories and the
    days of their moments; ``counts``, ``by_week`` and ``by_category`` are summed from those when read."""

    start: str
    end: str
    repo: str | None = None
    category: str | None = None
    rows: int = 0
    lead_times: list[float] = field(default_factory=list)
    incomplete: list[Mapping[str, Any]] = field(default_factory=list)
    from_current_policy: int = 0
    # rows by (categories, then the day of each moment counted or None: requested, approved, deployed,
    # emergency, and (state, day requested) of a rejected or withdrawn change)
    _hits: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    _outcomes: Counter[str] = field(default_factory=Counter)   # emergencies' outcomes: no moment of a week
    _complete: int = 0                                          # deployed_with_complete_approvals
    _sums: tuple[Counter[str], dict[str, Counter[str]], dict[str, Counter[str]]] | None = None

    def wants(self, row: Mapping[str, Any]) -> bool:
        return ((self.repo is None or row["repo"] == self.repo)
                and (self.category is None or self.category in row["categories"]))

    def add(self, row: Mapping[str, Any], whole: Callable[[], dict[str, Any]] | None = None) -> None:
        """Count one register row. It needs only ``TALLIED`` of the row's keys; ``whole`` gives the whole row,
        kept when it is an incomplete deployment (``incomplete_exceptions``), when ``row`` has only those."""
        if (self.repo is not None or self.category is not None) and not self.wants(row):
            return
        self.rows += 1
        self._sums = None
        start, end = self.start, self.end
        requested_at, approved_at, deployed_at = row["requested_at"], row["approved_at"], row["deployed_at"]
        requested = requested_at[:10] if start <= requested_at < end else None
        approved = deployed = emergency = None
        if row["emergency"]:
            if deployed_at and start <= deployed_at < end:
                emergency = deployed_at[:10]
                outcome = ("emergency_open" if not row["retro_approved_at"] else
                           "emergency_retro_late" if row["retro_overdue"] else "emergency_retro_in_time")
                self._outcomes[outcome] += 1
        else:
            if approved_at and start <= approved_at < end:
                approved = approved_at[:10]
                if row["approvals_required"]:
                    self.lead_times.append(_hours(requested_at, approved_at))
            if deployed_at and start <= deployed_at < end:
                deployed = deployed_at[:10]
                if approvals_complete(row):
                    self._complete += 1
                else:
                    self.incomplete.append(row if whole is None else whole())
        state = row["state"]
        ended = (state, requested_at[:10]) if state == "rejected" or state == "withdrawn" else None
        self._hits[tuple(row["categories"] or NO_CATEGORY), requested, approved, deployed, emergency, ended] += 1
        if row.get("approvals_required_source") == RULES_FROM_CURRENT_POLICY:
            self.from_current_policy += 1

    @property
    def counts(self) -> Counter[str]:
        """Changes per moment (``COUNTS``), and the emergencies' and deployments' outcomes."""
        return self._summed()[0]

    @property
    def by_week(self) -> dict[str, Counter[str]]:
        """``COUNTS`` per ISO week (``iso_week``) of the moment counted."""
        return self._summed()[1]

    @property
    def by_category(self) -> dict[str, Counter[str]]:
        """``COUNTS`` per category (a change in two counts in both; none: ``(none)``)."""
        return self._summed()[2]

    def _summed(self) -> tuple[Counter[str], dict[str, Counter[str]], dict[str, Counter[str]]]:
        if self._sums is None:
            counts = Counter(self._outcomes)
            by_week: defaultdict[str, Counter[str]] = defaultdict(Counter)
            by_category: defaultdict[str, Counter[str]] = defaultdict(Counter)
            counts["deployed_with_complete_approvals"] += self._complete
            weeks: dict[str, str] = {}
            for (cats, requested, approved, deployed, emergency, ended), n in self._hits.items():
                for what, day in (("requested", requested), ("emergency", emergency), ("approved", approved),
                                  ("deployed", deployed), ended or ("", None)):
                    if day is not None:
                        counts[what] += n
                        by_week[iso_week(day, weeks)][what] += n
                        for c in cats:
                            by_category[c][what] += n
            self._sums = counts, by_week, by_category
        return self._sums

    def incomplete_exceptions(self, last_seq: Callable[[int], int | None] | None = None
                              ) -> Iterator[dict[str, Any]]:
        """``incomplete-approvals`` rows for exceptions.csv: a deployment the approvals did not cover.

        ``log_seq`` is the change's last log entry (its deployment); rows read without ``log_seqs``
        look it up in ``session``.
        """
        for row in self.incomplete:
            need = flat(row["approvals_required"]) or "nothing"
            got = row["approvals"] or "none"
            yield {"kind": INCOMPLETE, "at": row["deployed_at"], "actor": row["deployed_by"], "repo": row["repo"],
                   "ref": f"refs/heads/{row['target']}", "change_id": row["change_id"],
                   "detail": f"deployed without complete prior approval: required {need}; counted {got}",
                   "log_seq": row["log_seqs"][-1] if row["log_seqs"] else
                   (last_seq(row["change_id"]) if last_seq else None)}


@dataclass
class LogFacts:
    """What the metrics read from the log itself: refused pushes (by reason code), drift events and the
    access review's figures (``access``: service-wide, never narrowed to a repo)."""

    refused_pushes: int = 0
    refused_refs: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_week: Counter[str] = field(default_factory=Counter)
    sod_refusals: int = 0
    refused_signatures: int = 0
    drift_events: int = 0
    access: dict[str, Any] = field(default_factory=dict)

    def add(self, kind: str, ts: str, p: Mapping[str, Any], repo: str | None = None,
            repo_of_change: Callable[[Any], set[str]] | None = None, weeks: dict[str, str] | None = None) -> None:
        """Count one ``push.refused``, ``change.sign_refused`` or ``drift.detected`` entry of the period
        (``repo``: only that repo's; a refused signature names its change, ``repo_of_change`` its repo)."""
        if kind == SIGN_REFUSED:
            if repo is None or (repo_of_change is not None and repo in repo_of_change(p.get("change_id"))):
                self.sod_refusals += 1
                self.refused_signatures += 1
            return
        if repo is not None and p.get("repo") != repo:
            return
        if kind == DRIFT_DETECTED:
            self.drift_events += 1
            return
        if kind != PUSH_REFUSED:
            return
        self.refused_pushes += 1
        self.by_week[iso_week(ts, weeks)] += 1
        refs = [r for r in p.get("refs") or [] if not r.get("allow")] or [{"reasons": []}]
        for r in refs:  # a ref counts under its primary reason's code (``policy.codes.PRECEDENCE``)
            self.refused_refs += 1
            code = primary_code(reason_code(x) for x in r.get("reasons") or ()) or UNCLASSIFIED
            self.by_reason[code] += 1
            self.sod_refusals += area(code) == "sod"


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
