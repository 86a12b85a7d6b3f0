"""The one projection from the change log to the evidence pack's tables (SPEC §12). Pure, stdlib only.

Fed the entries of seq 1..``upto`` in order (``add``), it yields (``finish``) the rows of
``register.csv``, ``approvals.csv``, ``exceptions.csv``, ``drift.csv``, ``metrics.csv``,
``policy-history.csv`` and the text of ``policy.toml``. The exporter writes the pack's tables from
it and the pack's ``verify.py`` runs it again on the pack's signed log and compares, row by row,
both ways: so every table is a function of the signed log and nothing else.

What it reads, kind by kind (``HANDLERS``): ``change.opened``/``change.revised`` (the CR, its
revision, rules, categories), ``change.approved``/``change.rejected`` (signatures, state),
``change.withdrawn``, ``change.deployed``, ``emergency.deployed``, ``push.refused``,
``change.sign_refused``, ``deploy.voided``, ``drift.*``, ``config.loaded`` and the export's own
``audit.reconciled`` (what reconciliation against git found: facts the log cannot derive). Any entry
whose payload names a change (``changes_named``) is in that change's ``log_seqs``.

To extend it (a new log kind that makes register rows, exceptions or another table): write a
function ``(projection, seq, ts, actor, payload)`` and register it with ``@handles("the.kind")``;
change a CR through ``projection.change(id)``, add exception rows to ``projection.extra`` (or a
list of your own that ``finish`` orders), and keep the exporter unchanged: it writes what
``finish`` returns. A new table: add its rows to ``Tables`` and a check to ``checks.FILE_CHECKS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.verifier.chain import canon
from gatekeeper.verifier.metrics import LogFacts, Tally, csv_rows, summarise
from gatekeeper.verifier.tables import (
    RULES_FROM_REVISION,
    RULES_NOT_LOGGED,
    drift_exception_row,
    drift_row,
    emergency_row,
    memberships_text,
    overdue,
    overdue_row,
    refused_rows,
    sign_refused_row,
    voided_row,
)

OPENED, REVISED, APPROVED_KIND = "change.opened", "change.revised", "change.approved"


# In canonical JSON (the log's payloads, byte for byte) a key is always preceded by an unescaped quote and
# followed by ``":``, which cannot occur inside a string (its quotes are escaped), so a match is a real key.
_NAMED = re.compile(rb'"([A-Za-z0-9_]*change_id[A-Za-z0-9_]*|deploys|matches_change)":(-?[0-9]+|\[[^\]]*\])')


def changes_named(raw: bytes) -> set[int]:
    """Every change id an entry's canonical payload names (``change_id``, ``change_ids``, any key
    containing ``change_id``, a ref's ``deploys``, a drift's ``matches_change``; a number, or the
    numbers of a list), at any depth: the links a register row's ``log_seqs`` are made of."""
    found: set[int] = set()
    for m in _NAMED.finditer(raw):
        value = m.group(2)
        if value[:1] != b"[":
            found.add(int(value))
        else:
            found.update(int(v) for v in value[1:-1].split(b",") if v.lstrip(b"-").isdigit())
    return found


@dataclass(frozen=True)
class Params:
    """What the tables are a function of, besides the log: all of it recorded in ``audit.exported``."""

    start: str                  # the period [start, end), RFC 3339 UTC
    end: str
    now: str                    # when "overdue" was judged
    upto: int                   # the log seqs projected: 1..upto
    reconciled_seq: int | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_export(cls, p: Mapping[str, Any]) -> Params:
        """From an ``audit.exported`` payload; ``ValueError`` naming a missing or malformed field."""
        for key in ("from", "to", "now"):
            if not isinstance(p.get(key), str) or not p[key]:
                raise ValueError(f"field {key!r} must be an RFC 3339 time")
        upto, rec, filters = p.get("upto"), p.get("reconciled_seq"), p.get("filters", {})
        if not isinstance(upto, int) or isinstance(upto, bool) or upto < 0:
            raise ValueError("field 'upto' must be a log seq")
        if rec is not None and (not isinstance(rec, int) or isinstance(rec, bool)):
            raise ValueError("field 'reconciled_seq' must be a log seq")
        if not isinstance(filters, dict) or set(filters) - {"repo", "category"}:
            raise ValueError("field 'filters' may hold only repo and category")
        return cls(p["from"], p["to"], p["now"], upto, rec, filters)


class Change:
    """One change request as its log entries describe it."""

    __slots__ = (
        "approved_at",
        "categories",
        "deadline",
        "deployed_at",
        "deployed_by",
        "deployed_commit",
        "emergency",
        "emergency_reason",
        "emergency_seq",
        "financial",
        "fingerprint",
        "id",
        "repo",
        "requested_at",
        "requested_by",
        "retro_approved_at",
        "revision",
        "rules",
        "rules_source",
        "seqs",
        "signatures",
        "sod_findings",
        "state",
        "target",
        "ticket",
        "ticket_state",
        "title",
    )

    def __init__(self, change_id: int) -> None:
        self.id = change_id
        self.repo = self.target = self.title = self.ticket = self.requested_by = self.fingerprint = ""
        self.requested_at = ""
        self.state = ""
        self.categories: list[str] = []
        self.financial = self.emergency = False
        self.revision = 0
        self.rules: list[Any] = []
        self.rules_source = RULES_NOT_LOGGED
        self.sod_findings: list[Any] = []
        self.approved_at: str | None = None
        self.deployed_at: str | None = None
        self.deployed_by: str | None = None
        self.deployed_commit: str | None = None
        self.emergency_reason: str | None = None
        self.deadline: str | None = None
        self.retro_approved_at: str | None = None
        self.ticket_state: str | None = None
        self.emergency_seq: int | None = None
        self.seqs: list[int] = []
        # (seq, ts, payload) of each change.approved / change.rejected
        self.signatures: list[tuple[int, str, Mapping[str, Any]]] = []

    def moments(self) -> tuple[str | None, ...]:
        return (self.requested_at, self.approved_at, self.deployed_at, self.retro_approved_at)


Handler = Callable[["Projection", int, str, str, Mapping[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def handles(*kinds: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = fn
        return fn
    return register


@dataclass
class Tables:
    """The projection's result: rows in file order (dicts keyed by column) and the policy text."""

    register: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    drift: list[dict[str, Any]]
    metrics: dict[str, Any]
    policy_history: list[dict[str, Any]]
    policy: str                           # policy.toml: the policy text of the last config.loaded
    policy_seq: int | None
    policy_sha256: str | None
    reconciliation: list[str]             # audit.reconciled's summary lines
    proof_seqs: list[int]                 # every log seq register.csv and approvals.csv name

    def metrics_rows(self) -> list[dict[str, Any]]:
        return list(csv_rows(self.metrics))


class Projection:
    """Feed ``add`` the entries of seq 1..upto in order (those ``wants_payload`` declines may be left
    out: they cannot change a table), then call ``finish`` once."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.changes: dict[int, Change] = {}
        self.refused: list[dict[str, Any]] = []
        self.emergencies: list[tuple[int, str, str, Mapping[str, Any]]] = []
        self.drift_exceptions: list[dict[str, Any]] = []
        self.sign_refused: list[tuple[int, str, str, Mapping[str, Any]]] = []
        self.voided: list[dict[str, Any]] = []
        self.extra: list[dict[str, Any]] = []     # exception rows of kinds added later (see module doc)
        self.reconciled: list[dict[str, Any]] = []
        self.reconciliation: list[str] = []
        self.drift: list[dict[str, Any]] = []
        self.facts_in: list[tuple[str, str, Mapping[str, Any]]] = []
        self.policy_history: list[dict[str, Any]] = []
        self.policy: tuple[str, int, str | None] | None = None
        self.last = 0

    def in_period(self, ts: str | None) -> bool:
        return ts is not None and self.params.start <= ts < self.params.end

    def change(self, change_id: int) -> Change:
        c = self.changes.get(change_id)
        if c is None:
            c = self.changes[change_id] = Change(change_id)
        return c

    def add(self, seq: int, ts: str, kind: str, actor: str, payload: Mapping[str, Any], raw: bytes | None = None
            ) -> None:
        """One entry, in seq order; ``raw`` is its payload's canonical JSON (computed when not given).
        Entries after ``upto`` are not the tables' business."""
        if seq > self.params.upto:
            return
        if seq <= self.last:
            raise ValueError(f"the projection needs the entries in seq order: seq {seq} after {self.last}")
        self.last = seq
        for cid in changes_named(canon(payload) if raw is None else raw):
            self.change(cid).seqs.append(seq)
        handler = HANDLERS.get(kind)
        if handler is not None:
            handler(self, seq, ts, actor, payload)

    def wants_payload(self, kind: str, raw: bytes) -> bool:
        """Whether ``add`` needs this entry's parsed payload; for other kinds ``named`` is all it needs."""
        return kind in HANDLERS

    def named(self, seq: int, raw: bytes) -> None:
        """An entry of a kind no handler reads: only the changes it names (its ``log_seqs``), from its
        canonical payload, unparsed."""
        if seq > self.params.upto or not (b"change_id" in raw or b'"deploys"' in raw or b"matches_change" in raw):
            return
        if seq <= self.last:
            raise ValueError(f"the projection needs the entries in seq order: seq {seq} after {self.last}")
        self.last = seq
        for cid in changes_named(raw):
            self.change(cid).seqs.append(seq)

    def finish(self) -> Tables:
        p, now = self.params, self.params.now
        repo, category = p.filters.get("repo"), p.filters.get("category")
        rows: list[dict[str, Any]] = []
        approvals: list[dict[str, Any]] = []
        tally = Tally(p.start, p.end)
        for cid in sorted(self.changes):
            c = self.changes[cid]
            if not c.requested_at or not any(self.in_period(t) for t in c.moments()):
                continue
            if (repo is not None and c.repo != repo) or (category is not None and category not in c.categories):
                continue
            row = register_row(c, now)
            rows.append(row)
            tally.add(row)
            approvals.extend(approval_row(cid, seq, ts, sp) for seq, ts, sp in c.signatures)
        found = self._exceptions(tally, repo)
        facts, weeks = LogFacts(), dict[str, str]()
        repo_of = self._repo_of
        for kind, ts, payload in self.facts_in:
            facts.add(kind, ts, payload, repo, repo_of, weeks)
        metrics = summarise(tally, facts, found, hook_drift=sum(1 for e in found if e["kind"] == "hook-drift"))
        seqs = sorted({s for r in rows for s in r["log_seqs"]} | {a["log_seq"] for a in approvals})
        text, seq, sha = self.policy or ("", None, None)
        drift = [d for d in self.drift if repo is None or d["repo"] == repo]
        return Tables(rows, approvals, found, drift, metrics, self.policy_history, text, seq, sha,
                      self.reconciliation, seqs)

    def _repo_of(self, change_id: Any) -> set[str]:
        c = self.changes.get(change_id) if isinstance(change_id, int) else None
        return {c.repo} if c is not None and c.repo else set()

    def _exceptions(self, tally: Tally, repo: str | None) -> list[dict[str, Any]]:
        out = list(self.refused)
        for seq, ts, actor, payload in self.emergencies:
            cid = payload.get("change_id")
            c = self.changes.get(cid) if isinstance(cid, int) else None
            out.append(emergency_row(seq, ts, actor, payload, c.deadline if c else None, c.state if c else None,
                                     c.retro_approved_at if c else None))
        for cid in sorted(self.changes):
            c = self.changes[cid]
            if not c.emergency or not c.deadline or not c.requested_at:
                continue
            if not (any(self.in_period(t) for t in c.moments()) or self.in_period(c.deadline)):
                continue
            if overdue(c.emergency, c.deadline, c.retro_approved_at, c.state, self.params.now):
                out.append(overdue_row(cid, c.repo, c.target, c.deadline, c.deployed_by, c.retro_approved_at,
                                       c.state, c.emergency_seq))
        out.extend(self.drift_exceptions)
        for seq, ts, actor, payload in self.sign_refused:
            out.append(sign_refused_row(seq, ts, actor, payload, next(iter(self._repo_of(payload.get("change_id"))),
                                                                      None)))
        out.extend(self.voided)
        out.extend(tally.incomplete_exceptions())
        out.extend(self.extra)
        out.extend(self.reconciled)
        return [e for e in out if repo is None or e.get("repo") in (None, repo)]


def register_row(c: Change, now: str) -> dict[str, Any]:
    """A register row (SPEC §9 columns, plus the values metrics need), as ``audit.register.rows`` gives it."""
    counted = [(sp.get("signer"), sp.get("group"), sp.get("meaning"), ts, sp.get("fingerprint"))
               for _seq, ts, sp in c.signatures
               if sp.get("decision") == "approve" and sp.get("fingerprint") == c.fingerprint]
    return {
        "change_id": c.id, "repo": c.repo, "target": c.target, "title": c.title, "categories": list(c.categories),
        "financial": c.financial, "ticket": c.ticket, "requested_by": c.requested_by, "requested_at": c.requested_at,
        "revision": c.revision, "fingerprint": c.fingerprint, "approvals_required": [dict(r) for r in c.rules],
        "approvals_required_source": c.rules_source,
        "approvals": "; ".join(f"{u} ({g}, {m}, {t})" for u, g, m, t, _ in counted), "approvals_given": counted,
        "approved_at": c.approved_at, "sod_findings": list(c.sod_findings), "deployed_at": c.deployed_at,
        "deployed_by": c.deployed_by, "deployed_commit": c.deployed_commit, "emergency": c.emergency,
        "emergency_reason": c.emergency_reason, "retro_approved_at": c.retro_approved_at,
        "retro_overdue": overdue(c.emergency, c.deadline, c.retro_approved_at, c.state, now), "state": c.state,
        "log_seqs": list(c.seqs), "ticket_state": c.ticket_state,
    }


def approval_row(change_id: int, seq: int, ts: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """An approvals.csv row: one signature as its ``change.approved`` / ``change.rejected`` entry records it."""
    return {"change_id": change_id, "revision": p.get("revision"), "fingerprint": p.get("fingerprint"),
            "username": p.get("signer"), "name": p.get("name"), "group": p.get("group"),
            "decision": p.get("decision"), "meaning": p.get("meaning"), "comment": p.get("comment"),
            "signed_at": ts, "memberships": memberships_text(p.get("memberships") or ()), "log_seq": seq}


# -- handlers, kind by kind -------------------------------------------------------------------------
def _cid(p: Mapping[str, Any]) -> int | None:
    cid = p.get("change_id")
    return cid if isinstance(cid, int) and not isinstance(cid, bool) else None


@handles(OPENED, REVISED)
def _opened(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    cid = _cid(p)
    if cid is None:
        return
    c = pr.change(cid)
    if not c.requested_at:
        c.requested_at, c.requested_by = ts, str(p.get("pusher") or actor)
    c.repo, c.target = p.get("repo", c.repo), p.get("target", c.target)
    c.title, c.ticket = p.get("title", c.title), p.get("ticket", c.ticket)
    c.revision, c.fingerprint = p.get("revision", c.revision), p.get("fingerprint", c.fingerprint)
    c.sod_findings = list(p.get("sod_findings") or ())
    if "categories" in p:
        c.categories, c.financial = list(p["categories"]), bool(p.get("financial"))
    else:  # logged before issue 21: the files' categories
        c.categories = sorted({x for f in p.get("files") or () for x in f.get("categories") or ()})
    if isinstance(p.get("approvals_required"), list):
        c.rules, c.rules_source = list(p["approvals_required"]), RULES_FROM_REVISION
    else:
        c.rules, c.rules_source = [], RULES_NOT_LOGGED
    if "emergency_reason" in p:
        c.emergency, c.emergency_reason = True, p["emergency_reason"]
    _state(c, str(p.get("state", c.state)), ts)


def _state(c: Change, state: str, ts: str) -> None:
    """A state change as ``actions/changes.py`` makes it: approval and ratification times are the
    moment the state was reached; a reset to pending clears the approval time."""
    if state == "approved" and c.state != "approved":
        c.approved_at = ts
    elif state == "pending":
        c.approved_at = None
    if state == "retro-approved" and c.state != "retro-approved":
        c.retro_approved_at = ts
    c.state = state


@handles(APPROVED_KIND, "change.rejected")
def _signed(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    cid = _cid(p)
    if cid is None:
        return
    c = pr.change(cid)
    c.signatures.append((seq, ts, p))
    if p.get("ticket_state"):
        c.ticket_state = p["ticket_state"]
    if isinstance(p.get("state"), str):
        _state(c, p["state"], ts)


@handles("change.withdrawn")
def _withdrawn(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    cid = _cid(p)
    if cid is not None and isinstance(p.get("state"), str):
        _state(pr.change(cid), p["state"], ts)


@handles("change.deployed")
def _deployed(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    cid = _cid(p)
    if cid is None:
        return
    c = pr.change(cid)
    c.deployed_at, c.deployed_by, c.deployed_commit = ts, actor, p.get("new")
    if p.get("ticket_state"):
        c.ticket_state = p["ticket_state"]
    if isinstance(p.get("state"), str):
        _state(c, p["state"], ts)


@handles("emergency.deployed")
def _emergency(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.emergencies.append((seq, ts, actor, p))
    cid = _cid(p)
    if cid is None:
        return
    c = pr.change(cid)
    c.deadline, c.deployed_at, c.deployed_by, c.deployed_commit = p.get("deadline"), ts, actor, p.get("new")
    c.emergency_seq = c.emergency_seq or seq
    if isinstance(p.get("state"), str):
        _state(c, p["state"], ts)


@handles("push.refused")
def _refused(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.refused.extend(refused_rows(seq, ts, actor, p))
        pr.facts_in.append(("push.refused", ts, p))


@handles("change.sign_refused")
def _sign_refused(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.sign_refused.append((seq, ts, actor, p))
        pr.facts_in.append(("change.sign_refused", ts, p))


@handles("deploy.voided")
def _voided(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.voided.append(voided_row(seq, ts, actor, p))


@handles("drift.checked")
def _drift_checked(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.drift.append(drift_row(seq, ts, p))


@handles("drift.detected")
def _drift_detected(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.drift_exceptions.append(drift_exception_row(seq, ts, "drift.detected", actor, p))
        pr.facts_in.append(("drift.detected", ts, p))


@handles("drift.error")
def _drift_error(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.drift_exceptions.append(drift_exception_row(seq, ts, "drift.error", actor, p))


@handles("config.loaded")
def _policy(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    pr.policy_history.append({"ts": ts, "sha256": p.get("sha256"), "log_seq": seq})
    text = p.get("policy")
    pr.policy = (text if isinstance(text, str) else "", seq, p.get("sha256"))


@handles("audit.reconciled")
def _reconciled(pr: Projection, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if seq == pr.params.reconciled_seq:
        pr.reconciled = [dict(r) for r in p.get("rows") or ()]
        pr.reconciliation = [str(line) for line in p.get("lines") or ()]


def project(params: Params, entries: Iterable[tuple[int, str, str, str, Mapping[str, Any], bytes | None]]
            ) -> Tables:
    """The tables of ``params`` from ``(seq, ts, kind, actor, payload, raw payload or None)`` in seq order."""
    pr = Projection(params)
    for entry in entries:
        pr.add(*entry)
    return pr.finish()
