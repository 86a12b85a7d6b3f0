"""Access review campaigns (SPEC §12, issue 24): open, decide keep or revoke per row, sign.

A reviewer (``roles.access_reviewers``, checked against the directory at every step) opens a
campaign for a repo or for all; its rows are fixed then (``access.review_opened`` carries their
hash). Each decision is an ``access.decided`` entry holding the row as reviewed; nobody decides a
row about themselves. The signature (``access.review_signed``) is given with the password re-entered,
exactly as an approval is (the web layer checks it through the same lockout path), only when every
row is decided; it binds the rows' hash and the hash of every decision, and lists the revocations:
work for the directory's owners (Gatekeeper never writes to the directory), checked by the next
snapshots (``actions.access.take_snapshot``) until the right is gone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from gatekeeper.actions import access
from gatekeeper.actions.context import Services
from gatekeeper.errors import Conflict, Forbidden, InputError, NotFound
from gatekeeper.ledger import events as ev
from gatekeeper.ledger.canonical import canon
from gatekeeper.policy import access as pa
from gatekeeper.policy.people import Membership, User
from gatekeeper.store import log
from gatekeeper.store.tables import AccessReview, AccessReviewRow

MEANINGS = ("Reviewed and certified",)
DECISIONS_DOMAIN = b"gatekeeper.access-decisions.v1\x00"
MAX_COMMENT = 4000


def reviewer_memberships(services: Services, user: User) -> list[Membership]:
    """The memberships that make ``user`` an access reviewer now; none is a ``Forbidden``."""
    groups = services.config.roles.access_reviewers
    held = [m for m in services.directory.memberships(user.username) if m.group in groups]
    if not held:
        raise Forbidden(f"{user.username} needs the access_reviewers role, which members of "
                        f"{', '.join(groups) or '(no group: set roles.access_reviewers in the policy)'} hold")
    return held


def load(session: Session, review_id: int) -> AccessReview:
    found = session.get(AccessReview, review_id)
    if found is None:
        raise NotFound(f"access review {review_id} not found")
    return found


def open_review(services: Services, user: User, repo: str | None = None) -> int:
    """Open a campaign over today's rights (``repo``, or every repo); one open campaign per scope."""
    reviewer_memberships(services, user)
    rows = access.review(services, repo).rows  # the directory is asked outside the write lock
    columns = [r.to_dict() for r in rows]
    scope = repo or ""
    with services.store.write() as s:
        if s.exec(select(AccessReview.id).where(AccessReview.repo == scope, AccessReview.state == "open")).first():
            raise Conflict(f"an access review of {scope or 'every repo'} is already open: finish and sign it first")
        now = log.utc_now()
        campaign = AccessReview(repo=scope, opened_by=user.username, opened_at=now, opened_seq=0, rows=len(rows),
                                rows_sha256=pa.rows_hash(columns))
        s.add(campaign)
        s.flush()
        assert campaign.id is not None
        opened = ev.AccessReviewOpened(review_id=campaign.id, repo=scope, rows=len(rows),
                                       rows_sha256=campaign.rows_sha256,
                                       summary=pa.summary(rows, services.config.access.conflicts), name=user.name)
        campaign.opened_seq = log.append(s, opened, user.username, ts=now).seq
        for i, c in enumerate(columns, start=1):
            s.add(AccessReviewRow(review_id=campaign.id, position=i, username=c["username"],
                                  columns=canon(c).decode("utf-8")))
        return campaign.id


def decide(services: Services, review_id: int, user: User, positions: Sequence[int], decision: str,
           comment: str = "") -> int:
    """Record ``decision`` for each row; returns how many. A decision is final, like a signature."""
    comment = comment.strip()
    if decision not in pa.DECISIONS:
        raise InputError(f"decision must be one of: {', '.join(pa.DECISIONS)}")
    if decision == "revoke" and not comment:
        raise InputError("a comment is required to revoke (say why, for the directory's owners)")
    if len(comment) > MAX_COMMENT:
        raise InputError(f"the comment is longer than {MAX_COMMENT} characters")
    wanted = sorted(set(positions))
    if not wanted:
        raise InputError("choose at least one row")
    reviewer_memberships(services, user)
    with services.store.write() as s:
        campaign = _open(s, review_id)
        rows = {r.position: r for r in s.exec(select(AccessReviewRow).where(
            AccessReviewRow.review_id == review_id, col(AccessReviewRow.position).in_(wanted))).all()}
        for pos in wanted:
            row = rows.get(pos)
            if row is None:
                raise NotFound(f"access review {review_id} has no row {pos}")
            if row.decision is not None:
                raise Conflict(f"row {pos} of access review {review_id} was already decided ({row.decision} by "
                               f"{row.decided_by}); decisions are final")
            if row.username == user.username:
                raise Forbidden(f"{user.username} cannot decide row {pos}: it is about their own access; "
                                "another reviewer decides it")
        now = log.utc_now()
        for pos in wanted:
            row = rows[pos]
            decided = ev.AccessDecided(review_id=campaign.id or 0, row=pos, columns=json.loads(row.columns),
                                       decision=decision, comment=comment, name=user.name)
            entry = log.append(s, decided, user.username, ts=now)
            row.decision, row.comment, row.decided_by, row.decided_at, row.decided_seq = (
                decision, comment, user.username, now, entry.seq)
    return len(wanted)


def sign(services: Services, review_id: int, signer: User, meaning: str = "", comment: str = "") -> int:
    """Sign the whole review (the caller re-checked the password); returns the log seq."""
    meaning = meaning or MEANINGS[0]
    if meaning not in MEANINGS:
        raise InputError(f"meaning must be one of: {', '.join(MEANINGS)}")
    if len(comment) > MAX_COMMENT:
        raise InputError(f"the comment is longer than {MAX_COMMENT} characters")
    held = reviewer_memberships(services, signer)
    with services.store.write() as s:
        campaign = _open(s, review_id)
        rows = s.exec(select(AccessReviewRow).where(AccessReviewRow.review_id == review_id)
                      .order_by(col(AccessReviewRow.position))).all()
        open_rows = [r.position for r in rows if r.decision is None]
        if open_rows:
            raise Conflict(f"access review {review_id} has {len(open_rows)} undecided row(s) (first: row "
                           f"{open_rows[0]}): decide every row before signing")
        now = log.utc_now()
        revoked = [access.revocation(r) for r in rows if r.decision == "revoke"]
        signed = ev.AccessReviewSigned(
            review_id=review_id, repo=campaign.repo, rows=len(rows), kept=len(rows) - len(revoked),
            revoked=len(revoked), rows_sha256=campaign.rows_sha256, decisions_sha256=decisions_hash(rows),
            meaning=meaning, comment=comment.strip(), signer=signer.username, name=signer.name, signer_dn=signer.dn,
            memberships=tuple(m.to_dict() for m in held), revocations=tuple(revoked))
        entry = log.append(s, signed, signer.username, ts=now)
        campaign.state, campaign.signed_by, campaign.signed_at, campaign.signed_seq, campaign.meaning = (
            "signed", signer.username, now, entry.seq, meaning)
        return entry.seq


def decisions_hash(rows: Sequence[AccessReviewRow]) -> str:
    """SHA-256 of every row's ``[position, decision, decided_seq]``, sorted: what the signature covers."""
    items = sorted([r.position, r.decision, r.decided_seq] for r in rows)
    return hashlib.sha256(DECISIONS_DOMAIN + canon(items)).hexdigest()


def _open(session: Session, review_id: int) -> AccessReview:
    campaign = load(session, review_id)
    if campaign.state != "open":
        raise Conflict(f"access review {review_id} is {campaign.state}; it takes no more decisions")
    return campaign


# -- reading -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Progress:
    rows: int
    decided: int
    revoked: int


def progress(session: Session, review_id: int) -> Progress:
    base = select(func.count()).select_from(AccessReviewRow).where(AccessReviewRow.review_id == review_id)
    total = session.exec(base).one()
    decided = session.exec(base.where(col(AccessReviewRow.decision).is_not(None))).one()
    revoked = session.exec(base.where(AccessReviewRow.decision == "revoke")).one()
    return Progress(total, decided, revoked)


def campaigns(session: Session, limit: int = 50) -> list[AccessReview]:
    return list(session.exec(select(AccessReview).order_by(col(AccessReview.id).desc()).limit(limit)).all())


def rows_of(session: Session, review_id: int, *, undecided: bool = False, offset: int = 0,
            limit: int = 100) -> list[AccessReviewRow]:
    query = select(AccessReviewRow).where(AccessReviewRow.review_id == review_id)
    if undecided:
        query = query.where(col(AccessReviewRow.decision).is_(None))
    return list(session.exec(query.order_by(col(AccessReviewRow.position)).offset(offset).limit(limit)).all())
