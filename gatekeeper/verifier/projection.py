"""The one projection from the change log to the evidence pack's tables (SPEC §12). Pure, stdlib only.

Fed the entries of seq 1..``upto`` in order (``add``), it yields (``finish``) the rows of
``register.csv``, ``approvals.csv``, ``exceptions.csv``, ``drift.csv``, ``metrics.csv``,
``policy-history.csv``, ``access-review.csv``, ``access-changes.csv``, ``comments.csv`` and the text of
``policy.toml``.
The exporter writes the pack's tables from it and the pack's ``verify.py`` runs it again on the
pack's signed log and compares, row by row, both ways: so every table is a function of the signed
log and nothing else.

What it reads, kind by kind (``kinds.HANDLERS``): ``change.opened``/``change.revised`` (the CR, its
revision, rules, categories), ``change.approved``/``change.rejected`` (signatures, state),
``change.withdrawn``, ``change.commented`` (``comments.csv``), ``change.deployed``,
``emergency.deployed``, ``push.refused``, ``change.sign_refused``, ``deploy.voided``,
``deploy.unproven`` (while not settled later), ``hook.state_rejected``, ``drift.*``,
``config.loaded``, ``access.*`` (the access review's two files, its exceptions and metrics:
``access.AccessLog``) and the export's own ``audit.reconciled`` (what reconciliation against git
found: facts the log cannot derive). Any entry whose payload names a change (``changes_named``) is
in that change's ``log_seqs``.

To extend it (a new log kind that makes register rows, exceptions or another table): write a
function ``(projection, seq, ts, actor, payload)`` in ``kinds.py`` and register it with
``@handles("the.kind")``; change a CR through ``projection.change(id)``, add exception rows to
``projection.extra`` (or a list of your own that ``finish`` orders), and keep the exporter
unchanged: it writes what ``finish`` returns. A new table: add its rows to ``Tables``, its file
to the exporter and ``checks.DERIVED``, and a check to ``files.FILE_CHECKS``.
"""

from __future__ import annotations

import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.verifier.access import AccessLog
from gatekeeper.verifier.kinds import HANDLERS, Change, Signed
from gatekeeper.verifier.metrics import LogFacts, Tally, csv_rows, summarise
from gatekeeper.verifier.tables import (
    emergency_row,
    overdue,
    overdue_row,
    sign_refused_row,
)

# In canonical JSON (the log's payloads, byte for byte) a key is always preceded by an unescaped quote and
# followed by ``":``, which cannot occur inside a string (its quotes are escaped), so a match is a real key.
_NAMED = re.compile(rb'"([A-Za-z0-9_]*change_id[A-Za-z0-9_]*|deploys|matches_change)":(-?[0-9]+|\[[^\]]*\])')


_ONE = re.compile(rb'"change_id":(-?[0-9]+)[,}]')


def changes_named(raw: bytes) -> set[int]:
    """Every change id an entry's canonical payload names (``change_id``, ``change_ids``, any key
    containing ``change_id``, a ref's ``deploys``, a drift's ``matches_change``; a number, or the
    numbers of a list), at any depth: the links a register row's ``log_seqs`` are made of."""
    if raw.count(b"change_id") == 1 and b'"deploys"' not in raw and b"matches_change" not in raw:
        one = _ONE.search(raw)  # the usual payload: one plain change_id (fast path, same answer)
        if one is not None:
            return {int(one.group(1))}
    found: set[int] = set()
    for m in _NAMED.finditer(raw):
        value = m.group(2)
        if value[:1] != b"[":
            found.add(int(value))
        else:
            found.update(int(v) for v in value[1:-1].split(b",") if v.lstrip(b"-").isdigit())
    return found


def names_in(payloads: Sequence[bytes], seqs: Sequence[int], pairs: array[int]) -> None:
    """``changes_named`` of many entries' payloads (of seqs ``seqs``) at once, appended to ``pairs`` as
    change, seq, change, seq …: the same answer, the usual payload (one plain change_id) without a call
    per entry (``parallel``'s workers do this for a million entries)."""
    one, add = _ONE.match, pairs.append
    for raw, seq in zip(payloads, seqs, strict=True):
        at = raw.find(b"change_id")
        if raw.find(b"change_id", at + 1) < 0 and b'"deploys"' not in raw and b"matches_change" not in raw:
            if at < 0:
                continue
            m = one(raw, at - 1)    # the one occurrence: where _ONE.search would find it, if anywhere
            if m is not None:
                add(int(m.group(1)))
                add(seq)
                continue
        for cid in changes_named(raw):
            add(cid)
            add(seq)


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


@dataclass
class Tables:
    """The projection's result, each table in file order; the register and the signatures are made
    row by row from the population's changes (``register``, ``approvals``), never all held at once."""

    changes: list[Change]                 # the register's population, in change_id order
    now: str
    exceptions: list[dict[str, Any]]
    drift: list[dict[str, Any]]
    metrics: dict[str, Any]
    policy_history: list[dict[str, Any]]
    policy: str                           # policy.toml: the policy text of the last config.loaded
    policy_seq: int | None
    policy_sha256: str | None
    reconciliation: list[str]             # audit.reconciled's summary lines
    access: AccessLog                     # access-review.csv, access-changes.csv and what reviews certify
    access_review: list[dict[str, Any]] = field(default_factory=list)
    access_changes: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)   # change.commented entries of the period

    def register(self) -> Iterator[dict[str, Any]]:
        return (register_row(c, self.now) for c in self.changes)

    def approvals(self) -> Iterator[dict[str, Any]]:
        return (approval_row(c.id, s) for c in self.changes for s in c.signatures)

    def proof_seqs(self) -> list[int]:
        """Every log seq register.csv and approvals.csv name, in order (an old pack's proofs.jsonl)."""
        seqs = {s for c in self.changes for s in c.seqs}
        return sorted(seqs.union(s.seq for c in self.changes for s in c.signatures))

    def metrics_rows(self) -> list[dict[str, Any]]:
        return list(csv_rows(self.metrics))


class Projection:
    """Feed ``add`` the entries of seq 1..upto in order (those not of ``kinds`` may be given to ``named``
    instead: only the changes they name matter), then call ``finish`` once."""

    def __init__(self, params: Params, names: bool = True) -> None:
        self.params = params
        self.names = names      # False: the changes entries name come in later, all at once (``named_seqs``)
        self.changes: dict[int, Change] = {}
        self.refused: list[dict[str, Any]] = []
        self.emergencies: list[tuple[int, str, str, Mapping[str, Any]]] = []
        self.drift_exceptions: list[dict[str, Any]] = []
        self.sign_refused: list[tuple[int, str, str, Mapping[str, Any]]] = []
        self.voided: list[dict[str, Any]] = []
        self.unproven: dict[int, dict[str, Any]] = {}   # intent id -> its deploy-unproven exception row
        self.extra: list[dict[str, Any]] = []     # exception rows of kinds added later (see module doc)
        self.reconciled: list[dict[str, Any]] = []
        self.reconciliation: list[str] = []
        self.drift: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []
        self.facts_in: list[tuple[str, str, Mapping[str, Any]]] = []
        self.policy_history: list[dict[str, Any]] = []
        self.policy: tuple[str, int, str | None] | None = None
        self.access = AccessLog(params.start, params.end)
        self.common: dict[Any, Any] = {}
        self.forms: dict[Callable[[Any], Any], dict[bytes, Any]] = defaultdict(dict)   # kinds.shared
        self.last = 0
        self.upto = params.upto

    def in_period(self, ts: str | None) -> bool:
        return ts is not None and self.params.start <= ts < self.params.end

    def same(self, value: Any, key: Any = None) -> Any:
        """The one copy of a value many CRs repeat (a repo, a group, a state; a rule set by its ``key``):
        the projection holds every CR of the log at once, so each is held once. Only strings are shared
        by value (1, 1.0 and True are equal keys, but not the same cell)."""
        if key is None:
            return self.common.setdefault(value, value) if type(value) is str else value
        return self.common.setdefault(key, value)

    def change(self, change_id: int) -> Change:
        c = self.changes.get(change_id)
        if c is None:
            c = self.changes[change_id] = Change(change_id)
        return c

    def add(self, seq: int, ts: str, kind: str, actor: str, payload: Mapping[str, Any], raw: bytes | None = None
            ) -> None:
        """One entry, in seq order; ``raw`` is its payload's canonical JSON (computed when not given).
        Entries after ``upto`` are not the tables' business."""
        if not self.last < seq <= self.upto:
            if seq > self.upto:
                return
            raise ValueError(f"the projection needs the entries in seq order: seq {seq} after {self.last}")
        self.last = seq
        if self.names:
            for cid in changes_named(canon(payload) if raw is None else raw):
                self.change(cid).seqs.append(seq)
        handler = HANDLERS.get(kind)
        if handler is not None:
            handler(self, seq, ts, actor, payload)

    @property
    def kinds(self) -> Collection[str]:
        """The kinds whose parsed payload ``add`` needs; for the others ``named`` is all it needs."""
        return HANDLERS.keys()

    def named(self, seq: int, raw: bytes) -> None:
        """An entry of a kind no handler reads: only the changes it names (its ``log_seqs``), from its
        canonical payload, unparsed."""
        if seq > self.upto or not (b"change_id" in raw or b'"deploys"' in raw or b"matches_change" in raw):
            return
        if seq <= self.last:
            raise ValueError(f"the projection needs the entries in seq order: seq {seq} after {self.last}")
        self.last = seq
        for cid in changes_named(raw):
            self.change(cid).seqs.append(seq)

    def named_pairs(self, pairs: Sequence[int]) -> None:
        """Change ``pairs[2i]`` is named by the entry of seq ``pairs[2i + 1]``: the changes named by the entries
        of part of the log, in seq order (``parallel``: a worker found them), after ``add`` had them all."""
        changes = self.changes
        for cid, seq in zip(pairs[::2], pairs[1::2], strict=True):
            c = changes.get(cid)
            if c is None:
                c = changes[cid] = Change(cid)
            c.seqs.append(seq)

    def population(self) -> list[Change]:
        """The register's changes, in change_id order: requested, with a moment in the period, and of the
        filters' repo and category."""
        p = self.params
        repo, category = p.filters.get("repo"), p.filters.get("category")
        population: list[Change] = []
        for cid in sorted(self.changes):
            c = self.changes[cid]
            if not c.requested_at or not any(self.in_period(t) for t in c.moments()):
                continue
            if (repo is not None and c.repo != repo) or (category is not None and category not in c.categories):
                continue
            population.append(c)
        return population

    def register(self) -> Iterator[dict[str, Any]]:
        """The register's rows (``Tables.register`` of ``finish``), before ``finish``: for a worker to render
        while ``finish`` works out the rest (``files.render_ahead``)."""
        now = self.params.now
        return (register_row(c, now) for c in self.population())

    def finish(self) -> Tables:
        p, now = self.params, self.params.now
        repo, category = p.filters.get("repo"), p.filters.get("category")
        population = self.population()
        tally = Tally(p.start, p.end)
        for c in population:
            tally.add(register_row(c, now))
        found = self._exceptions(tally, repo)
        facts, weeks = LogFacts(access=self.access.metrics()), dict[str, str]()
        repo_of = self._repo_of
        for kind, ts, payload in self.facts_in:
            facts.add(kind, ts, payload, repo, repo_of, weeks)
        metrics = summarise(tally, facts, found, hook_drift=sum(1 for e in found if e["kind"] == "hook-drift"))
        text, seq, sha = self.policy or ("", None, None)
        drift = [d for d in self.drift if repo is None or d["repo"] == repo]
        comments = [r for r in self.comments if self._kept(r["change_id"], repo, category)]
        return Tables(population, now, found, drift, metrics, self.policy_history, text, seq, sha,
                      self.reconciliation, self.access, self.access.review_rows(), self.access.changes,
                      comments)

    def _kept(self, change_id: Any, repo: str | None, category: str | None) -> bool:
        """Whether a row of this change belongs to a pack filtered by repo and category."""
        if repo is None and category is None:
            return True
        c = self.changes.get(change_id) if isinstance(change_id, int) else None
        return c is not None and (repo is None or c.repo == repo) and (category is None or category in c.categories)

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
        out.extend(self.access.revocation_rows())
        for seq, ts, actor, payload in self.sign_refused:
            out.append(sign_refused_row(seq, ts, actor, payload, next(iter(self._repo_of(payload.get("change_id"))),
                                                                      None)))
        out.extend(self.voided)
        out.extend(self.unproven[i] for i in sorted(self.unproven))
        out.extend(tally.incomplete_exceptions())
        out.extend(self.extra)
        out.extend(self.reconciled)
        return [e for e in out if repo is None or e.get("repo") in (None, repo)]


def register_row(c: Change, now: str) -> dict[str, Any]:
    """A register row (SPEC §9 columns, plus the values metrics need), as ``audit.register.rows`` gives it."""
    counted = [(s.signer, s.group, s.meaning, s.ts, s.fingerprint) for s in c.signatures
               if s.decision == "approve" and s.fingerprint == c.fingerprint
               and (s.ticket is None or s.ticket == c.ticket)]  # policy.approvals.counting
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


def approval_row(change_id: int, s: Signed) -> dict[str, Any]:
    """An approvals.csv row: one signature as its ``change.approved`` / ``change.rejected`` entry records it."""
    return {"change_id": change_id, "revision": s.revision, "fingerprint": s.fingerprint, "username": s.signer,
            "name": s.name, "group": s.group, "decision": s.decision, "meaning": s.meaning, "comment": s.comment,
            "signed_at": s.ts, "memberships": s.memberships, "log_seq": s.seq, "ticket": s.ticket}


def project(params: Params, entries: Iterable[tuple[int, str, str, str, Mapping[str, Any], bytes | None]]
            ) -> Tables:
    """The tables of ``params`` from ``(seq, ts, kind, actor, payload, raw payload or None)`` in seq order."""
    pr = Projection(params)
    for entry in entries:
        pr.add(*entry)
    return pr.finish()
