"""What helps people review (issue 25), none of it evidence: file contents of topic pushes by blob id,
the revision each person last saw of a CR, and sign forms kept across a re-authentication.

Sessions and drafts are written with ``side_write`` (never behind a push's write lock); contents are
written in the revision's own transaction, so a revision and the contents it can be diffed with
arrive together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlmodel import Session, col

from gatekeeper.store.db import Store
from gatekeeper.store.tables import ChangeSeen, ContentBlob, SignDraft

_BLOBS = ContentBlob.__table__  # type: ignore[attr-defined]
_CHUNK = 500


def save_contents(session: Session, blobs: Mapping[str, bytes]) -> int:
    """Keep the contents not kept yet (a blob id names its content: the same id is never stored twice)."""
    ids = sorted(blobs)
    if not ids:
        return 0
    conn, have = session.connection(), set[str]()
    for i in range(0, len(ids), _CHUNK):
        have.update(conn.execute(select(_BLOBS.c.blob).where(_BLOBS.c.blob.in_(ids[i:i + _CHUNK]))).scalars())
    rows = [{"blob": b, "data": blobs[b]} for b in ids if b not in have]
    if rows:
        conn.execute(_BLOBS.insert(), rows)
    return len(rows)


def contents(session: Session, blobs: Iterable[str]) -> dict[str, bytes]:
    ids = sorted(set(blobs))
    out: dict[str, bytes] = {}
    conn = session.connection()
    for i in range(0, len(ids), _CHUNK):
        part = ids[i:i + _CHUNK]
        for blob, data in conn.execute(select(_BLOBS.c.blob, _BLOBS.c.data).where(_BLOBS.c.blob.in_(part))):
            out[blob] = bytes(data)
    return out


# -- the revision someone last saw ------------------------------------------------------------------------
def last_seen(session: Session, username: str, change_id: int) -> int | None:
    """The revision ``username`` last opened the change page at (a read, so most views write nothing)."""
    row = session.get(ChangeSeen, (username, change_id))
    return row.revision if row is not None else None


def seen_before(session: Session, username: str, change_id: int, current: int) -> int | None:
    """The latest revision below ``current`` that ``username`` opened the change page at, if any."""
    row = session.get(ChangeSeen, (username, change_id))
    if row is None:
        return None
    if row.revision < current:
        return row.revision
    return row.previous if row.previous is not None and row.previous < current else None


def mark_seen(store: Store, username: str, change_id: int, revision: int, now: str) -> None:
    """``username`` opened the page at ``revision`` (the revision seen before it is kept)."""
    with store.side_write() as s:
        row = s.get(ChangeSeen, (username, change_id))
        if row is None:
            s.add(ChangeSeen(username=username, change_id=change_id, revision=revision, seen_at=now))
        elif row.revision != revision:
            row.previous, row.revision, row.seen_at = row.revision, revision, now


# -- sign drafts ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Draft:
    """A sign form as it was when its session ended (the password is never kept)."""

    change_id: int
    revision: int
    decision: str
    meaning: str
    comment: str
    saved_at: float


def save_draft(store: Store, username: str, draft: Draft) -> None:
    """Keep (or replace) ``username``'s draft for the CR."""
    with store.side_write() as s:
        row = s.get(SignDraft, (username, draft.change_id))
        if row is None:
            row = SignDraft(username=username, change_id=draft.change_id, revision=0, decision="", saved_at=0.0)
        row.revision, row.decision, row.meaning = draft.revision, draft.decision, draft.meaning
        row.comment, row.saved_at = draft.comment, draft.saved_at
        s.add(row)


def draft(session: Session, username: str, change_id: int, oldest: float) -> Draft | None:
    """``username``'s draft for the CR, if saved after ``oldest`` (epoch seconds)."""
    row = session.get(SignDraft, (username, change_id))
    if row is None or row.saved_at < oldest:
        return None
    return Draft(row.change_id, row.revision, row.decision, row.meaning, row.comment, row.saved_at)


def drop_draft(store: Store, username: str, change_id: int) -> None:
    """The draft was signed (or discarded): forget it."""
    with store.side_write() as s:
        s.execute(delete(SignDraft).where(col(SignDraft.username) == username,
                                          col(SignDraft.change_id) == change_id))
