"""Queries on change requests, revisions, files, approvals and deployments."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, func, select

from gatekeeper.policy.fingerprint import FileChange
from gatekeeper.policy.states import OPEN_STATES, State
from gatekeeper.store.tables import Approval, ChangeFile, ChangeRequest, Deployment, Repo, Revision


def loads(text: str | None) -> Any:
    return json.loads(text) if text else []


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def get(session: Session, change_id: int) -> ChangeRequest | None:
    return session.get(ChangeRequest, change_id)


def ensure_repo(session: Session, name: str, now: str) -> None:
    if session.exec(select(Repo).where(Repo.name == name)).first() is None:
        session.add(Repo(name=name, created_at=now))


def open_for_topic(session: Session, repo: str, topic_ref: str, target: str) -> ChangeRequest | None:
    return session.exec(select(ChangeRequest).where(
        ChangeRequest.repo == repo, ChangeRequest.topic_ref == topic_ref, ChangeRequest.target == target,
        col(ChangeRequest.state).in_([s.value for s in OPEN_STATES]), col(ChangeRequest.emergency).is_(False),
    ).order_by(col(ChangeRequest.id).desc())).first()


def open_for_topic_any_target(session: Session, repo: str, topic_ref: str) -> list[ChangeRequest]:
    return list(session.exec(select(ChangeRequest).where(
        ChangeRequest.repo == repo, ChangeRequest.topic_ref == topic_ref,
        col(ChangeRequest.state).in_([s.value for s in OPEN_STATES]), col(ChangeRequest.emergency).is_(False),
    )).all())


def open_for_target(session: Session, repo: str, target: str) -> list[ChangeRequest]:
    return list(session.exec(select(ChangeRequest).where(
        ChangeRequest.repo == repo, ChangeRequest.target == target,
        col(ChangeRequest.state).in_([State.PENDING.value, State.APPROVED.value]),
        col(ChangeRequest.emergency).is_(False),
    ).order_by(col(ChangeRequest.id))).all())


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


def approvals(session: Session, change_id: int) -> list[Approval]:
    return list(session.exec(select(Approval).where(Approval.change_id == change_id)
                             .order_by(col(Approval.id))).all())


def deployments(session: Session, change_id: int) -> list[Deployment]:
    return list(session.exec(select(Deployment).where(Deployment.change_id == change_id)).all())


def listing(session: Session, *, state: str | None = None, repo: str | None = None, category: str | None = None,
            financial: bool | None = None, since: str | None = None, until: str | None = None,
            limit: int = 100, offset: int = 0) -> tuple[list[ChangeRequest], int]:
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
    total = session.exec(select(func.count()).select_from(q.subquery())).one()
    rows = session.exec(q.order_by(col(ChangeRequest.id).desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total)
