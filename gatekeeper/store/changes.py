"""Queries on change requests, revisions, files, approvals and deployments."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, false, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from gatekeeper.policy.approvals import Signature
from gatekeeper.policy.fingerprint import FileChange
from gatekeeper.policy.states import OPEN_STATES, State
from gatekeeper.store.tables import (
    Approval,
    ChangeFile,
    ChangePath,
    ChangeRequest,
    DeployIntent,
    Deployment,
    Repo,
    Revision,
)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else []


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def get(session: Session, change_id: int) -> ChangeRequest | None:
    return session.get(ChangeRequest, change_id)


def ensure_repo(session: Session, name: str, now: str) -> None:
    """The repo's row, added the first time a CR is opened in it. Repo rows are never deleted, so one
    found committed in a database is not asked for again by this process: a statement less in each new
    CR's write transaction, under the writer lock."""
    bind = session.get_bind()
    known = _KNOWN_REPOS.setdefault(getattr(bind, "pool", bind), set())  # SQLite writes bind an OptionEngine
    if name in known:
        return
    if session.exec(select(Repo).where(Repo.name == name)).first() is None:
        session.add(Repo(name=name, created_at=now))  # remembered once seen committed, not before
    else:
        known.add(name)


_KNOWN_REPOS: WeakKeyDictionary[Any, set[str]] = WeakKeyDictionary()  # per connection pool: per database


def open_for_topic(session: Session, repo: str, topic_ref: str, target: str) -> ChangeRequest | None:
    """The CR a topic push revises. A CR an open deploy intent is deploying is not revised (issue 11
    item 1): the revision the gate checked stays the one recorded; the push opens a new CR instead."""
    cr = session.exec(select(ChangeRequest).where(
        ChangeRequest.repo == repo, ChangeRequest.topic_ref == topic_ref, ChangeRequest.target == target,
        col(ChangeRequest.state).in_([s.value for s in OPEN_STATES]), col(ChangeRequest.emergency).is_(False),
    ).order_by(col(ChangeRequest.id).desc())).first()
    if cr is not None and cr.id in claimed(session, repo):
        return None
    return cr


def open_for_topic_any_target(session: Session, repo: str, topic_ref: str) -> list[ChangeRequest]:
    return list(session.exec(select(ChangeRequest).where(
        ChangeRequest.repo == repo, ChangeRequest.topic_ref == topic_ref,
        col(ChangeRequest.state).in_([s.value for s in OPEN_STATES]), col(ChangeRequest.emergency).is_(False),
    )).all())


def revisions(session: Session, change_id: int) -> list[Revision]:
    return list(session.exec(select(Revision).where(Revision.change_id == change_id)
                             .order_by(col(Revision.number))).all())


def current_revision(session: Session, cr: ChangeRequest) -> Revision:
    rev = session.exec(select(Revision).where(Revision.change_id == cr.id,
                                              Revision.number == cr.current_revision)).first()
    assert rev is not None, f"CR {cr.id} has no revision {cr.current_revision}"
    return rev


def files(session: Session, revision_id: int) -> list[ChangeFile]:
    return list(session.exec(select(ChangeFile).where(ChangeFile.revision_id == revision_id)
                             .order_by(col(ChangeFile.path))).all())


def patch(files_: Sequence[ChangeFile]) -> frozenset[FileChange]:
    return frozenset(FileChange(f.path, f.old_blob, f.new_blob, f.old_mode, f.new_mode) for f in files_)


# The approval table's columns in ``Signature``'s field order: a stored row is read straight into the one
# approval shape (issue 23 item 3), never handed on as an ORM row.
SIGNATURE_COLUMNS = tuple(col(getattr(Approval, f)) for f in Signature._fields)


def signatures(session: Session, *where: Any) -> list[Signature]:
    """The stored signatures matching ``where``, in the order they were given."""
    query: Any = sa_select(*SIGNATURE_COLUMNS).where(*where).order_by(col(Approval.id))  # sqlmodel types 4 columns
    return [Signature(*row) for row in session.exec(query).all()]


def add_signature(session: Session, signature: Signature) -> None:
    """Store ``signature`` as its approval row (read back by ``signatures``)."""
    session.add(Approval(**signature._asdict()))


def approvals(session: Session, change_id: int) -> list[Signature]:
    return signatures(session, col(Approval.change_id) == change_id)


def deployments(session: Session, change_id: int) -> list[Deployment]:
    return list(session.exec(select(Deployment).where(Deployment.change_id == change_id)).all())


ORDERS = {  # the list's sort orders (``/changes?sort=``), newest first by default
    "newest": (col(ChangeRequest.id).desc(),),
    "oldest": (col(ChangeRequest.id).asc(),),
    "updated": (col(ChangeRequest.updated_at).desc(), col(ChangeRequest.id).desc()),
    "title": (func.lower(ChangeRequest.title).asc(), col(ChangeRequest.id).desc()),
}


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own ``%``, ``_`` and ``\\`` taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def listing(session: Session, *, state: str | None = None, repo: str | None = None, category: str | None = None,
            financial: bool | None = None, since: str | None = None, until: str | None = None,
            text: str | None = None, requested_by: str | None = None, any_category: Sequence[str] | None = None,
            order: str = "newest", limit: int = 100, offset: int = 0) -> tuple[list[ChangeRequest], int]:
    """A page of CRs: ``text`` is found in the title, ticket, branch or requester (``#12``/``12``: that
    id); ``any_category``: CRs in at least one of these categories (an empty list matches none)."""
    q = select(ChangeRequest)
    if state:
        q = q.where(ChangeRequest.state == state)
    if repo:
        q = q.where(ChangeRequest.repo == repo)
    if category:
        q = q.where(col(ChangeRequest.categories).contains(json.dumps(category)))
    if financial is not None:
        q = q.where(ChangeRequest.financial == financial)
    if since:
        q = q.where(ChangeRequest.requested_at >= since)
    if until:
        q = q.where(ChangeRequest.requested_at < until)
    if requested_by:
        q = q.where(ChangeRequest.requested_by == requested_by)
    if any_category is not None:
        q = q.where(or_(false(), *(col(ChangeRequest.categories).contains(json.dumps(c)) for c in any_category)))
    if text:
        pattern = _like(text.lower())
        found: list[Any] = [func.lower(getattr(ChangeRequest, c)).like(pattern, escape="\\")
                            for c in ("title", "ticket", "topic_ref", "requested_by")]
        digits = text.removeprefix("#")
        if digits.isdecimal() and int(digits) < 2**31:
            found.append(col(ChangeRequest.id) == int(digits))
        q = q.where(or_(*found))
    total = session.exec(select(func.count()).select_from(q.subquery())).one()
    rows = session.exec(q.order_by(*ORDERS.get(order, ORDERS["newest"])).offset(offset).limit(limit)).all()
    return list(rows), int(total)


# --- the gate's reads (issue 18): one query per kind of fact, never one per CR ----------------------

_GATE_STATES = (State.PENDING.value, State.APPROVED.value)
_CHUNK = 500


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)] or [[]]


def candidates_touching(session: Session, repo: str, target: str, paths: Sequence[str]
                        ) -> list[tuple[ChangeRequest, Revision]]:
    """Open CRs for ``target`` whose current revision touches one of ``paths`` (the ``change_path`` index)."""
    found: dict[int, tuple[ChangeRequest, Revision]] = {}
    for part in _chunks(sorted(set(paths))):
        if not part:
            continue
        rows = session.exec(
            select(ChangeRequest, Revision)
            .join(ChangePath, col(ChangePath.change_id) == col(ChangeRequest.id))
            .join(Revision, col(Revision.id) == col(ChangePath.revision_id))
            .where(ChangePath.repo == repo, ChangePath.target == target, col(ChangePath.path).in_(part),
                   col(ChangeRequest.state).in_(_GATE_STATES), col(ChangeRequest.emergency).is_(False))
            .distinct()).all()
        for cr, rev in rows:
            found[cr.id or 0] = (cr, rev)
    return [found[k] for k in sorted(found)]


def files_by_revision(session: Session, revision_ids: Sequence[int]) -> dict[int, list[ChangeFile]]:
    out: dict[int, list[ChangeFile]] = {rid: [] for rid in revision_ids}
    for part in _chunks(list(revision_ids)):
        if part:
            for f in session.exec(select(ChangeFile).where(col(ChangeFile.revision_id).in_(part))).all():
                out[f.revision_id].append(f)
    return out


def approvals_by_change(session: Session, change_ids: Sequence[int]) -> dict[int, list[Signature]]:
    out: dict[int, list[Signature]] = {cid: [] for cid in change_ids}
    for part in _chunks(list(change_ids)):
        if part:
            for a in signatures(session, col(Approval.change_id).in_(part)):
                out[a.change_id].append(a)
    return out


def revisions_by_change(session: Session, change_ids: Sequence[int]) -> dict[int, list[Revision]]:
    out: dict[int, list[Revision]] = {cid: [] for cid in change_ids}
    for part in _chunks(list(change_ids)):
        if part:
            for r in session.exec(select(Revision).where(col(Revision.change_id).in_(part))
                                  .order_by(col(Revision.number))).all():
                out[r.change_id].append(r)
    return out


def gate_state(session: Session, change_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """``(state, current_revision)`` per CR: what the write transaction re-checks before deciding."""
    out: dict[int, tuple[str, int]] = {}
    for part in _chunks(list(change_ids)):
        if part:
            for cid, state, number in session.exec(
                    select(ChangeRequest.id, ChangeRequest.state, ChangeRequest.current_revision)
                    .where(col(ChangeRequest.id).in_(part))).all():
                out[int(cid or 0)] = (state, number)
    return out


_PATHS = ChangePath.__table__  # type: ignore[attr-defined]
_UNINDEX = _PATHS.delete().where(_PATHS.c.change_id == bindparam("cid"))
_INDEX = _PATHS.insert()


def index_revision(session: Session, cr: ChangeRequest, revision_id: int, paths: Sequence[str], *,
                   replaces: bool) -> None:
    """Point the gate's path index at a CR's new current revision (emergency CRs are never candidates);
    ``replaces``: the CR had a revision before (a first revision has nothing to replace).

    Core statements compiled once: this runs in every topic push's write transaction.
    """
    conn = session.connection()
    if replaces:
        conn.execute(_UNINDEX, {"cid": cr.id})
    if cr.emergency:
        return
    rows = [{"change_id": cr.id, "path": p, "repo": cr.repo, "target": cr.target, "revision_id": revision_id}
            for p in sorted(set(paths))]
    if rows:
        conn.execute(_INDEX, rows)


def unindex(session: Session, change_id: int) -> None:
    session.connection().execute(_UNINDEX, {"cid": change_id})


# --- deploy intents (SPEC §11) -------------------------------------------------------------------

INTENT_OPEN, INTENT_CONFIRMED, INTENT_VOIDED = "open", "confirmed", "voided"
INTENT_UNPROVEN = "unproven"  # a later run could not tell (issue 22 item 1): still open for the auditor


_INTENTS = DeployIntent.__table__  # type: ignore[attr-defined]
_OPEN_BRIEF = sa_select(_INTENTS.c.id, _INTENTS.c.ref, _INTENTS.c.old, _INTENTS.c.new, _INTENTS.c.decided_at).where(
    _INTENTS.c.repo == bindparam("repo"), _INTENTS.c.state == INTENT_OPEN).order_by(_INTENTS.c.id)


def open_intents_brief(session: Session, repo: str) -> list[tuple[int, str, str, str, str]]:
    """``(id, ref, old, new, decided_at)`` of the repo's open intents: one indexed query, no ORM objects."""
    return [tuple(r) for r in session.connection().execute(_OPEN_BRIEF, {"repo": repo}).all()]  # type: ignore[misc]


def open_intents(session: Session, repo: str, *, unproven: bool = False) -> list[DeployIntent]:
    """The repo's open intents (``unproven``: and those a later run could not settle either way)."""
    states = [INTENT_OPEN, INTENT_UNPROVEN] if unproven else [INTENT_OPEN]
    return list(session.exec(select(DeployIntent).where(DeployIntent.repo == repo,
                                                        col(DeployIntent.state).in_(states))
                             .order_by(col(DeployIntent.id))).all())


def confirmed_intent(session: Session, repo: str, ref: str, old: str, new: str) -> DeployIntent | None:
    return session.exec(select(DeployIntent).where(
        DeployIntent.repo == repo, DeployIntent.ref == ref, DeployIntent.old == old, DeployIntent.new == new,
        DeployIntent.state == INTENT_CONFIRMED)).first()


def intents(session: Session, ids: Sequence[int]) -> list[DeployIntent]:
    if not ids:
        return []
    return list(session.exec(select(DeployIntent).where(col(DeployIntent.id).in_(list(ids)))
                             .order_by(col(DeployIntent.id))).all())


def intent_change_ids(intent: DeployIntent) -> list[int]:
    return [int(c["change_id"]) for c in loads(intent.decision).get("changes", []) if c.get("change_id")] \
        if intent.decision else []


def claimed(session: Session, repo: str) -> dict[int, int]:
    """CR id → the open deploy intent deploying it (racing pushes must not deploy a CR twice)."""
    if not open_intents_brief(session, repo):  # the usual case: one cheap query
        return {}
    return {cid: i.id or 0 for i in open_intents(session, repo) for cid in intent_change_ids(i)}
