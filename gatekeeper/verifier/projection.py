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

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter
from typing import Any

from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.verifier.access import AccessLog
from gatekeeper.verifier.kinds import HANDLERS, Change, Signed
from gatekeeper.verifier.metrics import LogFacts, Tally, csv_rows, summarise
from gatekeeper.verifier.names import changes_named
from gatekeeper.verifier.tables import (
    APPROVAL_COLUMNS,
    REGISTER_COLUMNS,
    emergency_row,
    flat,
    overdue,
    overdue_row,
    sign_refused_row,
)


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

    def register_values(self) -> Iterator[tuple[Any, ...]]:
        """``register``'s rows as their values in column order, list cells as text (``register_values``):
        to render."""
        now, texts = self.now, dict[int, tuple[list[Any], str]]()
        return (register_values(c, now, None, texts) for c in self.changes)

    def approvals(self) -> Iterator[dict[str, Any]]:
        return (approval_row(c.id, s) for c in self.changes for s in c.signatures)

    def approvals_values(self) -> Iterator[tuple[Any, ...]]:
        """``approvals``'s rows as their values in column order (``approval_values``): to render."""
        return (approval_values(c.id, s) for c in self.changes for s in c.signatures)

    def proof_seqs(self) -> list[int]:
        """Every log seq register.csv and approvals.csv name, in order (an old pack's proofs.jsonl)."""
        seqs = {s for c in self.changes for s in c.seqs}
        return sorted(seqs.union(s.seq for c in self.changes for s in c.signatures))

    def metrics_rows(self) -> list[dict[str, Any]]:
        return list(csv_rows(self.metrics))


class Projection:
    """Feed ``add`` the entries of seq 1..upto of ``kinds`` in order, then call ``finish`` once. The changes
    each entry names (its CRs' ``log_seqs``) are found by ``add`` itself (``names``, the exporter), or, when
    a pass over the log finds them (``names=False``: ``chain.read_log``, ``parallel``), given to
    ``named_pairs`` batch by batch."""

    def __init__(self, params: Params, names: bool = True) -> None:
        self.params = params
        self.names = names      # False: the changes entries name come from the pass (``named_pairs``)
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
        """The kinds whose parsed payload ``add`` needs; of the others only the changes they name matter."""
        return HANDLERS.keys()

    def named_pairs(self, pairs: Sequence[int]) -> None:
        """Change ``pairs[2i]`` is named by the entry of seq ``pairs[2i + 1]``: the changes named by a batch of
        entries, in seq order, as the pass found them (``names.names_of``)."""
        changes = self.changes
        for cid, seq in zip(pairs[::2], pairs[1::2], strict=True):
            c = changes.get(cid)
            if c is None:
                c = changes[cid] = Change(cid)
            c.seqs.append(seq)

    def population(self) -> list[Change]:
        """The register's changes, in change_id order: requested, with a moment in the period, and of the
        filters' repo and category."""
        p, changes = self.params, self.changes
        start, end = p.start, p.end
        repo, category = p.filters.get("repo"), p.filters.get("category")
        population: list[Change] = []
        for cid in sorted(changes):
            c = changes[cid]
            if not c.requested_at:
                continue
            for t in c.moments():   # ``in_period`` of any (a loop: a hundred thousand changes)
                if t is not None and start <= t < end:
                    break
            else:
                continue
            if (repo is not None and c.repo != repo) or (category is not None and category not in c.categories):
                continue
            population.append(c)
        return population

    def register(self) -> Iterator[dict[str, Any]]:
        """The register's rows (``Tables.register`` of ``finish``), before ``finish``."""
        now = self.params.now
        return (register_row(c, now) for c in self.population())

    def register_values(self) -> Iterator[tuple[Any, ...]]:
        """``register`` as each row's values in column order (``Tables.register_values``), before ``finish``:
        for a worker to render while ``finish`` works out the rest (``files.render_ahead``)."""
        now, texts = self.params.now, dict[int, tuple[list[Any], str]]()
        return (register_values(c, now, None, texts) for c in self.population())

    def finish(self) -> Tables:
        p, now = self.params, self.params.now
        repo, category = p.filters.get("repo"), p.filters.get("category")
        population = self.population()
        tally = Tally(p.start, p.end)
        for c in population:
            tally.add(tallied(c, now), partial(register_row, c, now))
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
    """A register row (SPEC §9 columns, plus the values metrics need), as ``audit.register.rows`` gives it.
    Read-only: it shares the projection's rule dicts (one per distinct rule set) rather than copying them."""
    counted = _counted(c)
    row = dict(zip(REGISTER_COLUMNS, register_values(c, now, counted), strict=True))
    row["approvals_required_source"], row["approvals_given"] = c.rules_source, counted
    return row


def register_values(c: Change, now: str, counted: list[tuple[Any, ...]] | None = None,
                    texts: dict[int, tuple[list[Any], str]] | None = None) -> tuple[Any, ...]:
    """A register row's values in ``REGISTER_COLUMNS`` order (``register_row`` names them): the verifier
    renders these (``tables.csv_pieces``) without making each row a mapping. ``counted``: ``_counted(c)``.

    With ``texts`` (a dict kept for one pass over the changes) the list-valued cells come as the text
    ``tables.flat`` makes of them, which renders alike (a list's cell is ``safe_cell(flat(list))``): each
    rule set's once, as the changes that have it share its list (``Projection.same``)."""
    if counted is None:
        counted = _counted(c)
    categories: Any
    rules: Any
    findings: Any
    seqs: Any
    if texts is None:
        categories, rules, findings, seqs = list(c.categories), _rules(c.rules), list(c.sod_findings), list(c.seqs)
    else:
        known = texts.get(id(c.rules))
        if known is None or known[0] is not c.rules:   # the list kept with its text: its id stays its own
            known = texts[id(c.rules)] = (c.rules, flat(_rules(c.rules)))
        categories, rules = flat(list(c.categories)), known[1]
        findings = flat(list(c.sod_findings)) if c.sod_findings else ""   # usually none
        seqs = " ".join(map(str, c.seqs))   # log seqs are ints: flat's text of their list
    return (c.id, c.repo, c.target, c.title, categories, c.financial, c.ticket, c.requested_by, c.requested_at,
            c.revision, c.fingerprint, rules, "; ".join([f"{u} ({g}, {m}, {t})" for u, g, m, t, _ in counted]),
            c.approved_at, findings, c.deployed_at, c.deployed_by, c.deployed_commit, c.emergency, c.emergency_reason,
            c.retro_approved_at, _retro_overdue(c, now), c.state, seqs, c.ticket_state)


def _retro_overdue(c: Change, now: str) -> bool:
    """``retro_overdue`` (``tables.overdue``: nothing to parse for a change that is no emergency)."""
    return overdue(c.emergency, c.deadline, c.retro_approved_at, c.state, now) if c.emergency else False


def _rules(rules: list[Any]) -> list[dict[str, Any]]:
    """A change's rules (``approvals_required``) as dicts; shared with the projection: not to be changed."""
    return [r if type(r) is dict else dict(r) for r in rules]


def tallied(c: Change, now: str) -> dict[str, Any]:
    """Of ``register_row``, what the metrics read (``metrics.TALLIED``), quicker to make (the whole row's
    text is not needed to count it)."""
    return {"repo": c.repo, "categories": c.categories, "requested_at": c.requested_at, "approved_at": c.approved_at,
            "deployed_at": c.deployed_at, "emergency": c.emergency, "retro_approved_at": c.retro_approved_at,
            "retro_overdue": _retro_overdue(c, now), "approvals_required": _rules(c.rules),
            "approvals_given": _counted(c), "state": c.state, "approvals_required_source": c.rules_source}


def _counted(c: Change) -> list[tuple[Any, ...]]:
    """The signatures that count for the change as it stands (``policy.approvals.counting``): approvals of its
    fingerprint, for its ticket (or signed before tickets were recorded), as (signer, group, meaning, ts,
    fingerprint)."""
    fp, ticket = c.fingerprint, c.ticket
    return [(s.signer, s.group, s.meaning, s.ts, s.fingerprint) for s in c.signatures
            if s.decision == "approve" and s.fingerprint == fp and (s.ticket is None or s.ticket == ticket)]


def approval_row(change_id: int, s: Signed) -> dict[str, Any]:
    """An approvals.csv row: one signature as its ``change.approved`` / ``change.rejected`` entry records it."""
    return dict(zip(APPROVAL_COLUMNS, approval_values(change_id, s), strict=True))


def approval_values(change_id: int, s: Signed) -> tuple[Any, ...]:
    """An approvals.csv row's values in ``APPROVAL_COLUMNS`` order (``approval_row`` names them)."""
    return (change_id, *_SIGNED(s))


# A signature's fields in APPROVAL_COLUMNS order after change_id (fetched at once: a pack has a hundred thousand).
_SIGNED = attrgetter("revision", "fingerprint", "signer", "name", "group", "decision", "meaning", "comment", "ts",
                     "memberships", "seq", "ticket")


def project(params: Params, entries: Iterable[tuple[int, str, str, str, Mapping[str, Any], bytes | None]]
            ) -> Tables:
    """The tables of ``params`` from ``(seq, ts, kind, actor, payload, raw payload or None)`` in seq order."""
    pr = Projection(params)
    for entry in entries:
        pr.add(*entry)
    return pr.finish()
