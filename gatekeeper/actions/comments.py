"""The discussion of a change request (issue 25 item 3): one thread for the change, one per file.

A comment is a log entry (``change.commented``), so the thread cannot be edited after the fact, the
notification outbox mails it (``change.commented``: the author and everyone who signed or commented,
never the commenter) and the evidence pack lists it (``comments.csv``). The page reads the thread
back from the log; no second copy can disagree with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from gatekeeper.actions.changes import load
from gatekeeper.actions.context import Services
from gatekeeper.errors import InputError
from gatekeeper.ledger import events as ev
from gatekeeper.policy.people import User
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeFile, ChangeLog, ChangeLogRef, Revision

MAX_COMMENT = 4000


@dataclass(frozen=True)
class Comment:
    seq: int
    at: str
    username: str
    name: str
    revision: int
    path: str | None
    text: str


def add(services: Services, change_id: int, user: User, text: str, path: str | None = None) -> Comment:
    """Log ``user``'s comment on the CR (``path``: on that file, which must be one of the CR's)."""
    text = text.strip()
    if not text:
        raise InputError("the comment is empty: write something to say")
    if len(text) > MAX_COMMENT:
        raise InputError(f"the comment has {len(text)} characters; at most {MAX_COMMENT} fit")
    path = path or None
    with services.store.write() as session:
        cr = load(session, change_id)
        if path is not None and path not in files_of(session, change_id):
            raise InputError(f"{path!r} is not a file of change request {change_id}")
        entry = log.append(session, ev.ChangeCommented(change_id=change_id, revision=cr.current_revision, path=path,
                                                       commenter=user.username, name=user.name, comment=text),
                           user.username, [change_id])
    return Comment(entry.seq, entry.ts, user.username, user.name, cr.current_revision, path, text)


def file_anchor(path: str) -> str:
    """The change page's anchor of one file (its diff and its thread), the same in pages and mails."""
    return "file-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:12]


def files_of(session: Session, change_id: int) -> set[str]:
    """Every path any revision of the CR touched (a comment may be about a file a later revision dropped)."""
    revisions = select(Revision.id).where(Revision.change_id == change_id)
    return set(session.exec(select(ChangeFile.path).where(col(ChangeFile.revision_id).in_(revisions))).all())


def thread(session: Session, change_id: int) -> list[Comment]:
    """The CR's comments, oldest first, as the log holds them."""
    rows = session.exec(select(ChangeLog).where(ChangeLog.kind == ev.CHANGE_COMMENTED,
                                                col(ChangeLog.seq).in_(select(ChangeLogRef.seq).where(
                                                    ChangeLogRef.change_id == change_id)))
                        .order_by(col(ChangeLog.seq))).all()
    out = []
    for row in rows:
        c = ev.ChangeCommented.from_payload(json.loads(row.payload))
        out.append(Comment(row.seq, row.ts, c.commenter or row.actor, c.name, c.revision, c.path, c.comment))
    return out


def participants(session: Session, change_id: int) -> list[str]:
    """Who signed or commented on the CR (the people a new comment is mailed to, besides its author)."""
    signers: Iterable[str] = (a.username for a in q.approvals(session, change_id))
    return list(dict.fromkeys([*signers, *(c.username for c in thread(session, change_id))]))
