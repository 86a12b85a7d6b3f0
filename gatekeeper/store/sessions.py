"""Server-side web sessions (issue 12): the cookie carries a random token, the ``web_session`` row
its SHA-256 (a stolen database does not yield usable cookies). Every worker on every host reads the
same row, so sign-out, an admin's "sign out everywhere", the idle and the absolute timeout hold
wherever the next request lands."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from gatekeeper.store.db import Store
from gatekeeper.store.tables import WebSession

TOUCH_EVERY = 15.0  # seconds: last_seen is rewritten at most this often (idle timeout precision)
IDLE, EXPIRED, REVOKED, UNKNOWN = "idle", "expired", "revoked", "unknown"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Lookup:
    username: str | None  # None when the session is not valid
    reason: str = ""  # IDLE, EXPIRED, REVOKED or UNKNOWN when not valid
    ended_for: str | None = None  # a session that timed out (IDLE, EXPIRED): whose it was (never when revoked)


def create(store: Store, username: str, client: str, now: float,
           record: Callable[[Session], object] | None = None) -> str:
    """A new session for ``username``: a fresh random token (the id is rotated at every sign-in).
    ``record`` runs in the same transaction (then a serialised one): the log entry of the sign-in
    exists exactly when the session does."""
    token = secrets.token_urlsafe(32)
    with store.write() if record is not None else store.side_write() as s:
        s.add(WebSession(id=_digest(token), username=username, client=client, created_at=now, last_seen=now))
        if record is not None:
            record(s)
    return token


def lookup(store: Store, token: str, now: float, idle_seconds: float, absolute_seconds: float) -> Lookup:
    """Who holds ``token`` now; touches ``last_seen`` (at most every ``TOUCH_EVERY`` s)."""
    sid = _digest(token)
    with store.read() as s:
        row = s.get(WebSession, sid)
    if row is None:
        return Lookup(None, UNKNOWN)
    if row.revoked_at is not None:
        return Lookup(None, REVOKED)
    # Whose session timed out, while its cookie may still be around (issue 25: a sign form sent after
    # the timeout is kept for its owner); a session ended on purpose (signed out, revoked) names nobody.
    owner = row.username if now - row.last_seen <= absolute_seconds else None
    if now - row.created_at > absolute_seconds:
        return Lookup(None, EXPIRED, owner)
    if now - row.last_seen > idle_seconds:
        return Lookup(None, IDLE, owner)
    if now - row.last_seen >= TOUCH_EVERY:
        with store.side_write() as s:
            s.execute(update(WebSession).where(WebSession.id == sid, WebSession.revoked_at.is_(None))  # type: ignore[arg-type,union-attr]
                      .values(last_seen=now))
    return Lookup(row.username, "")


def revoke(store: Store, token: str, now: float, by: str) -> None:
    """Sign-out: this session stops working everywhere, even from a copied cookie."""
    with store.side_write() as s:
        s.execute(update(WebSession).where(WebSession.id == _digest(token), WebSession.revoked_at.is_(None))  # type: ignore[arg-type,union-attr]
                  .values(revoked_at=now, revoked_by=by))


def revoke_user(store: Store, username: str, now: float, by: str) -> int:
    """"Sign out everywhere": every open session of ``username``; returns how many were open."""
    with store.side_write() as s:
        result = s.execute(update(WebSession).where(WebSession.username == username,  # type: ignore[arg-type]
                                                    WebSession.revoked_at.is_(None))  # type: ignore[union-attr]
                           .values(revoked_at=now, revoked_by=by))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def open_counts(store: Store, now: float, idle_seconds: float, absolute_seconds: float) -> list[tuple[str, int, float]]:
    """``(username, open sessions, last seen)`` for sessions still valid, for the admin page."""
    alive = (WebSession.revoked_at.is_(None), WebSession.last_seen >= now - idle_seconds,  # type: ignore[union-attr,operator]
             WebSession.created_at >= now - absolute_seconds)
    q = (select(WebSession.username, func.count(), func.max(WebSession.last_seen)).where(*alive)  # type: ignore[call-overload]
         .group_by(WebSession.username).order_by(WebSession.username))
    with store.read() as s:
        return [(u, int(n), float(t)) for u, n, t in s.execute(q)]


def prune(store: Store, now: float, absolute_seconds: float) -> int:
    """Forget sessions that ended long ago (kept a day past their absolute end for the admin's view)."""
    with store.side_write() as s:
        result = s.execute(delete(WebSession).where(WebSession.created_at < now - absolute_seconds - 86_400))  # type: ignore[arg-type]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
