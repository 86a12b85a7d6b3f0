"""What each log kind does to the pack's tables: one handler per kind (SPEC §12). Standard library only.

A handler gets the projection and one entry (seq, ts, actor, payload) and changes a CR (``Change``,
through ``projection.change(id)``), adds exception rows or table rows. Register one for a new kind
with ``@handles("the.kind")``; ``projection.py`` says what the tables are made of.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from marshal import dumps
from typing import Any, NamedTuple, Protocol

from gatekeeper.verifier.access import AccessLog
from gatekeeper.verifier.tables import (
    RULES_FROM_REVISION,
    RULES_NOT_LOGGED,
    comment_row,
    drift_exception_row,
    drift_row,
    memberships_text,
    reason_message,
    refused_rows,
    state_rejected_row,
    unproven_row,
    voided_row,
)

OPENED, REVISED, APPROVED_KIND = "change.opened", "change.revised", "change.approved"


class Signed(NamedTuple):
    """One signature as its log entry records it (kept small: a pack may hold a hundred thousand)."""

    seq: int
    ts: str
    revision: Any
    fingerprint: Any
    signer: Any
    name: Any
    group: Any
    decision: Any
    meaning: Any
    comment: Any
    memberships: str
    ticket: Any = None   # the ticket signed for; None: signed before Gatekeeper recorded it (counts for any)


_NO_SEQS = array("q")   # copied: a fresh array without parsing its typecode (a CR each)


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
        self.seqs = _NO_SEQS[:]              # log seqs (8 bytes each: a log holds a million)
        self.signatures: list[Signed] = []   # each change.approved / change.rejected, in log order

    def moments(self) -> tuple[str | None, ...]:
        return (self.requested_at, self.approved_at, self.deployed_at, self.retro_approved_at)


class Collector(Protocol):
    """What a handler may read and fill (``projection.Projection``): the CRs, the rows of the kinds it
    collects, and the period."""

    params: Any
    changes: dict[int, Change]
    common: dict[Any, Any]                                # the strings ``same`` holds once
    forms: dict[Callable[[Any], Any], dict[bytes, Any]]   # what ``shared`` made, by maker and form
    refused: list[dict[str, Any]]
    emergencies: list[tuple[int, str, str, Mapping[str, Any]]]
    drift: list[dict[str, Any]]
    comments: list[dict[str, Any]]
    drift_exceptions: list[dict[str, Any]]
    sign_refused: list[tuple[int, str, str, Mapping[str, Any]]]
    voided: list[dict[str, Any]]
    unproven: dict[int, dict[str, Any]]
    extra: list[dict[str, Any]]
    reconciled: list[dict[str, Any]]
    reconciliation: list[str]
    facts_in: list[tuple[str, str, Mapping[str, Any]]]
    policy_history: list[dict[str, Any]]
    policy: tuple[str, int, str | None] | None
    access: AccessLog

    def change(self, change_id: int) -> Change: ...

    def same(self, value: Any, key: Any = None) -> Any: ...

    def in_period(self, ts: str | None) -> bool: ...


Handler = Callable[["Collector", int, str, str, Mapping[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def handles(*kinds: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = fn
        return fn
    return register


def _cid(p: Mapping[str, Any]) -> int | None:
    cid = p.get("change_id")
    return cid if isinstance(cid, int) and not isinstance(cid, bool) else None


def shared(pr: Collector, make: Callable[[Any], Any], values: Any) -> Any:
    """``make(values)``, made once for all the values of the same exact form and shared: the projection holds
    every CR at once, and most entries of a kind repeat a few values (a repo, a rule set, a signer and their
    groups). The form is ``marshal``'s bytes, which tell 1, 1.0 and True, and two key orders, apart; values
    marshal cannot write (no JSON value is one) are made anew."""
    try:
        form = dumps(values)
    except ValueError:
        return make(values)
    made = pr.forms[make]
    found = made.get(form)
    if found is None:
        found = made[form] = make(values)
    return found


# The handlers of the kinds a log holds by the hundred thousand (change.opened, .approved, .deployed) are
# written for speed (verify.py reads a million entries at 200,000 a second): ``projection.change`` and
# ``_cid`` inlined (the common case first: a plain int change_id), the values CRs repeat made once (``shared``).
@handles(OPENED, REVISED)
def _opened(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    get = p.get
    cid = get("change_id")
    if type(cid) is not int and (cid := _cid(p)) is None:
        return
    c = pr.changes.get(cid)
    if c is None:
        c = pr.changes[cid] = Change(cid)
    if not c.requested_at:
        by = str(get("pusher") or actor)
        c.requested_at, c.requested_by = ts, pr.common.setdefault(by, by) if type(by) is str else by
    c.title, c.ticket = get("title", c.title), get("ticket", c.ticket)
    c.revision, c.fingerprint = get("revision", c.revision), get("fingerprint", c.fingerprint)
    findings = get("sod_findings")
    c.sod_findings = [reason_message(f) for f in findings] if findings else []  # SPEC §9: the sentences
    if "categories" in p:
        categories, c.financial = p["categories"], bool(get("financial"))
    else:  # logged before issue 21: the files' categories
        categories = sorted({x for f in get("files") or () for x in f.get("categories") or ()})
    c.repo, c.target, c.categories, c.rules, c.rules_source, state = shared(pr, _revision, (
        get("repo", c.repo), get("target", c.target), categories, get("approvals_required"), get("state", c.state)))
    if "emergency_reason" in p:
        c.emergency, c.emergency_reason = True, p["emergency_reason"]
    _state(c, state, ts)


def _revision(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """What CRs of a revision share: repo, target, categories, rules (one list per rule set, never changed) and
    their source, state."""
    repo, target, categories, rules, state = values
    logged = isinstance(rules, list)
    return (repo, target, list(categories), list(rules) if logged else [],
            RULES_FROM_REVISION if logged else RULES_NOT_LOGGED, str(state))


def _state(c: Change, state: str, ts: str) -> None:
    """A state change as ``actions/changes.py`` makes it: approval and ratification times are the
    moment the state was reached; a reset to pending clears the approval time."""
    if state == "approved":
        if c.state != "approved":
            c.approved_at = ts
    elif state == "pending":
        c.approved_at = None
    elif state == "retro-approved" and c.state != "retro-approved":
        c.retro_approved_at = ts
    c.state = state


_signed_tuple = tuple.__new__   # Signed(...) without NamedTuple's __new__ in Python (same tuple, a third of the time)


@handles(APPROVED_KIND, "change.rejected")
def _signed(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    get = p.get
    cid = get("change_id")
    if type(cid) is not int and (cid := _cid(p)) is None:
        return
    c = pr.changes.get(cid)
    if c is None:
        c = pr.changes[cid] = Change(cid)
    fp = get("fingerprint")
    # The ticket signed for, as issue 22 records it (always, with the target shown); before that a
    # ticket was recorded only with [itsm] and such a signature counted for any ticket: as the database.
    ticket = get("ticket") if "target" in p else None
    if type(ticket) is str and ticket == c.ticket:
        ticket = c.ticket   # the CR's own (one copy)
    signer, name, group = get("signer"), get("name"), get("group")
    decision, meaning, state = get("decision"), get("meaning"), get("state")
    memberships = memberships_text(get("memberships") or ())
    same = pr.common.setdefault   # what signatures repeat, held once: ``projection.same`` inlined
    c.signatures.append(_signed_tuple(Signed, (
        seq, ts, get("revision"), c.fingerprint if fp == c.fingerprint else fp,
        same(signer, signer) if type(signer) is str else signer, same(name, name) if type(name) is str else name,
        same(group, group) if type(group) is str else group,
        same(decision, decision) if type(decision) is str else decision,
        same(meaning, meaning) if type(meaning) is str else meaning, get("comment"),
        same(memberships, memberships), ticket)))
    if get("ticket_state"):
        c.ticket_state = p["ticket_state"]
    if isinstance(state, str):
        _state(c, same(state, state) if type(state) is str else state, ts)


@handles("change.commented")
def _commented(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.comments.append(comment_row(seq, ts, actor, p))


@handles("change.withdrawn")
def _withdrawn(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    cid = _cid(p)
    if cid is not None and isinstance(p.get("state"), str):
        _state(pr.change(cid), p["state"], ts)


@handles("change.deployed")
def _deployed(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.unproven:
        _settled(pr, p)
    get = p.get
    cid = get("change_id")
    if type(cid) is not int and (cid := _cid(p)) is None:
        return
    c = pr.changes.get(cid)
    if c is None:
        c = pr.changes[cid] = Change(cid)
    same = pr.common.setdefault
    c.deployed_at, c.deployed_commit = ts, get("new")
    c.deployed_by = same(actor, actor) if type(actor) is str else actor
    if get("ticket_state"):
        c.ticket_state = p["ticket_state"]
    state = get("state")
    if isinstance(state, str):
        _state(c, same(state, state) if type(state) is str else state, ts)


@handles("emergency.deployed")
def _emergency(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    _settled(pr, p)
    if pr.in_period(ts):
        pr.emergencies.append((seq, ts, actor, p))
    cid = _cid(p)
    if cid is None:
        return
    c = pr.change(cid)
    c.deadline, c.deployed_at, c.deployed_by, c.deployed_commit = p.get("deadline"), ts, actor, p.get("new")
    c.emergency_seq = c.emergency_seq or seq
    if isinstance(p.get("state"), str):
        _state(c, pr.same(p["state"]), ts)


@handles("push.refused")
def _refused(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.refused.extend(refused_rows(seq, ts, actor, p))
        pr.facts_in.append(("push.refused", ts, p))


@handles("change.sign_refused")
def _sign_refused(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.sign_refused.append((seq, ts, actor, p))
        pr.facts_in.append(("change.sign_refused", ts, p))


@handles("deploy.voided")
def _voided(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    _settled(pr, p)
    if pr.in_period(ts):
        pr.voided.append(voided_row(seq, ts, actor, p))


def _settled(pr: Collector, p: Mapping[str, Any]) -> None:
    """A deploy intent confirmed or voided: no longer unproven."""
    intent = p.get("intent_id")
    if isinstance(intent, int):
        pr.unproven.pop(intent, None)


@handles("deploy.unproven")
def _unproven(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    """An intent a later run could not settle either way (issue 22 item 1): an exception while it stays so."""
    intent = p.get("intent_id")
    if isinstance(intent, int) and pr.in_period(ts):
        pr.unproven[intent] = unproven_row(seq, ts, actor, p)


@handles("hook.state_rejected")
def _state_rejected(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    """A file of the hook's state (or settle facts) that failed its seal (issue 22 item 2)."""
    if pr.in_period(ts):
        pr.extra.append(state_rejected_row(seq, ts, actor, p))


@handles("drift.checked")
def _drift_checked(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.drift.append(drift_row(seq, ts, p))


@handles("drift.detected")
def _drift_detected(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.drift_exceptions.append(drift_exception_row(seq, ts, "drift.detected", actor, p))
        pr.facts_in.append(("drift.detected", ts, p))


@handles("drift.error")
def _drift_error(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if pr.in_period(ts):
        pr.drift_exceptions.append(drift_exception_row(seq, ts, "drift.error", actor, p))


@handles("config.loaded")
def _policy(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    pr.policy_history.append({"ts": ts, "sha256": p.get("sha256"), "log_seq": seq})
    text = p.get("policy")
    pr.policy = (text if isinstance(text, str) else "", seq, p.get("sha256"))


@handles("audit.reconciled")
def _reconciled(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    if seq == pr.params.reconciled_seq:
        pr.reconciled = [dict(r) for r in p.get("rows") or ()]
        pr.reconciliation = [str(line) for line in p.get("lines") or ()]


@handles("access.snapshot")
def _access_snapshot(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    pr.access.snapshot(seq, ts, p)


@handles("access.review_opened")
def _access_opened(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    pr.access.review_entry(seq, ts, actor, "access.review_opened", p)


@handles("access.decided")
def _access_decided(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    pr.access.review_entry(seq, ts, actor, "access.decided", p)


@handles("access.review_signed")
def _access_signed(pr: Collector, seq: int, ts: str, actor: str, p: Mapping[str, Any]) -> None:
    pr.access.review_entry(seq, ts, actor, "access.review_signed", p)
