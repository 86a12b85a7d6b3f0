"""Access review use cases (SPEC §12, issue 24): who holds which right now, and the daily snapshot.

Rights come from the policy (``policy.access.grants``) and one bulk directory read of every group
it names (``Directory.group_accounts``: disabled accounts included); activity comes from the log.
The daily ``access.snapshot`` records the rights as a diff against the previous snapshot plus the
hash of the whole set, so ``access changes`` and the evidence pack's ``access-changes.csv`` are
recomputed from the log alone; it also checks the revocations of signed reviews
(``actions.access_review``) and lists those still open. Campaigns live in ``access_review``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from gatekeeper.actions.context import Services
from gatekeeper.config import Config
from gatekeeper.errors import InputError, LedgerBroken
from gatekeeper.ledger import events as ev
from gatekeeper.ledger.entry import Entry
from gatekeeper.policy import access as pa
from gatekeeper.store import log
from gatekeeper.store.claim import FORMAT, claim, postpone
from gatekeeper.store.tables import AccessReview, AccessReviewRow, ChangeLog, Setting
from gatekeeper.verifier import access as verifier_access

logger = logging.getLogger(__name__)
SNAPSHOT_DAY = "access.snapshot_day"   # the UTC day of the last snapshot (checked in its write transaction)
NEXT_RUN = "access.next_run_at"        # the scheduler's claim (store.claim)
RETRY = timedelta(minutes=10)          # a failed snapshot is tried again this much later
# Log kinds whose actor acted: pushes, signatures, withdrawals, reviews and web sign-ins (``last_activity``).
# Not ``auth.locked``: its actor is the account someone else was guessing the password of.
ACTIVITY = (ev.CHANGE_OPENED, ev.CHANGE_REVISED, ev.CHANGE_APPROVED, ev.CHANGE_REJECTED, ev.SIGN_REFUSED,
            ev.CHANGE_WITHDRAWN, ev.PUSH_ALLOWED, ev.PUSH_REFUSED, ev.DEPLOY_INTENT, ev.CHANGE_DEPLOYED,
            ev.EMERGENCY_DEPLOYED, ev.SESSION_REVOKED, ev.ACCESS_REVIEW_OPENED, ev.ACCESS_DECIDED,
            ev.ACCESS_REVIEW_SIGNED, ev.AUTH_SIGNED_IN)


def grants_of(config: Config) -> tuple[pa.Grant, ...]:
    cats = [(c.name, c.authors, [r.group for r in c.approvals]) for c in config.categories]
    roles = config.roles
    return pa.grants([r.name for r in config.repos], cats, roles.emergency, roles.auditors, roles.admins)


def current_rights(services: Services) -> list[pa.Right]:
    """Every right the policy gives, resolved in the directory now (one bulk read of the groups)."""
    given = grants_of(services.config)
    groups = sorted({g.group for g in given})
    found = services.directory.group_accounts(groups)
    members = {g: [pa.Holder(u.username, u.name, m.via, off) for u, m, off in found.get(g, ())] for g in groups}
    return pa.resolve(given, members)


def check_repo(config: Config, repo: str | None) -> None:
    if repo is not None and config.repo(repo) is None:
        raise InputError(f"repo {repo!r} is not in the policy (known: {', '.join(r.name for r in config.repos)})")


def in_scope(rights: Sequence[pa.Right], repo: str | None) -> list[pa.Right]:
    """One repo's rights and the service-wide ones (which reach every repo); all with ``None``."""
    return list(rights) if repo is None else [r for r in rights if r.repo in (repo, "")]


# -- activity ----------------------------------------------------------------------------------------
def last_activity(session: Session) -> dict[str, str]:
    """Each actor's last push, signature, review act or sign-in, from the log."""
    query = (select(ChangeLog.actor, func.max(ChangeLog.ts)).where(col(ChangeLog.kind).in_(ACTIVITY))
             .group_by(ChangeLog.actor))
    return {actor: ts for actor, ts in session.exec(query).all()}


def log_start(session: Session) -> str | None:
    return session.exec(select(ChangeLog.ts).where(ChangeLog.seq == 1)).first()


# -- the snapshot history, replayed from the log --------------------------------------------------------
@dataclass
class History:
    """The rights as the snapshots in the log say, replayed diff by diff."""

    state: dict[pa.Key, pa.Right] = field(default_factory=dict)
    shown: dict[pa.Key, str] = field(default_factory=dict)   # when the current holding was first shown
    last_seq: int | None = None
    last_day: str | None = None
    last_hash: str | None = None

    def since(self) -> dict[str, str]:
        """Per person, when a snapshot first showed a right they still hold."""
        out: dict[str, str] = {}
        for key, ts in self.shown.items():
            out[key[0]] = min(out.get(key[0], ts), ts)
        return out


def snapshot_entries(session: Session, upto: int | None = None) -> Iterator[tuple[int, str, ev.AccessSnapshot]]:
    for e in log.of_kinds(session, [ev.ACCESS_SNAPSHOT], upto=upto):
        yield e.seq, e.ts, ev.AccessSnapshot.from_payload(e.payload)


def as_diff(snap: ev.AccessSnapshot) -> pa.Diff:
    return pa.Diff(tuple(pa.Right.from_list(r) for r in snap.gained), tuple(pa.Right.from_list(r) for r in snap.lost),
                   tuple(pa.Right.from_list(r) for r in snap.changed))


def replay(session: Session, upto: int | None = None, *, on_diff: Any = None) -> History:
    """Every snapshot applied in order; ``on_diff(seq, ts, snapshot, diff)`` sees each one. A snapshot
    that does not follow from the one before is a broken log (``LedgerBroken``), not an empty history."""
    h = History()
    for seq, ts, snap in snapshot_entries(session, upto):
        try:
            if snap.previous_seq != h.last_seq:
                raise ValueError(f"previous_seq {snap.previous_seq} is not the snapshot before ({h.last_seq})")
            d = as_diff(snap)
            pa.apply(h.state, d)
        except ValueError as exc:
            raise LedgerBroken(seq, f"access.snapshot does not replay: {exc}") from exc
        for r in d.lost:
            h.shown.pop(r.key, None)
        for r in d.gained:
            h.shown[r.key] = ts
        h.last_seq, h.last_day, h.last_hash = seq, snap.day, snap.rights_sha256
        if on_diff is not None:
            on_diff(seq, ts, snap, d)
    if h.last_hash is not None and pa.rights_hash(h.state.values()) != h.last_hash:
        raise LedgerBroken(h.last_seq or 0, "access.snapshot: the replayed rights do not hash to rights_sha256")
    return h


# -- the review --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Review:
    rows: list[pa.Row]
    summary: dict[str, Any]
    at: str
    repo: str | None = None


def review(services: Services, repo: str | None = None, *, now: str | None = None,
           rights: Sequence[pa.Right] | None = None, session: Session | None = None,
           history: History | None = None) -> Review:
    """The review rows now: rights in scope with their person's conflicts, last activity and dormancy."""
    check_repo(services.config, repo)
    if session is None:
        with services.store.read() as s:
            return review(services, repo, now=now, rights=rights, session=s, history=history)
    now = now or log.utc_now()
    scoped = in_scope(current_rights(services) if rights is None else rights, repo)
    cfg = services.config.access
    history = replay(session) if history is None else history
    found = pa.rows(scoped, cfg.conflicts, last_activity(session), history.since(), now, cfg.dormant_days,
                    log_start(session))
    return Review(found, pa.summary(found, cfg.conflicts), now, repo)


# -- the daily snapshot ------------------------------------------------------------------------------
def take_snapshot(services: Services, now: str | None = None) -> Entry | None:
    """Log today's ``access.snapshot`` unless one was logged today or for a later day (idempotent per UTC
    day: the check runs in the write transaction, so two workers never write two); ``None`` when
    nothing was written."""
    now = now or log.utc_now()
    day = now[:10]
    with services.store.read() as s:
        if (_snapshot_day(s) or "") >= day:
            return None
    rights = current_rights(services)  # the directory is asked outside the write lock
    with services.store.read() as s:
        history = replay(s)
        found = review(services, now=now, rights=rights, session=s, history=history)
        pending = pending_revocations(s)
    d = pa.diff(history.state, rights)
    held = {r.key for r in rights}
    still = tuple(r for r in pending if (r.username, r.right, r.repo, r.category, r.group) in held)
    gone = tuple(r for r in pending if r not in still)
    snap = ev.AccessSnapshot(
        day=day, previous_seq=history.last_seq, rights_sha256=pa.rights_hash(rights), count=len(rights),
        gained=tuple(tuple(r.to_list()) for r in d.gained), lost=tuple(tuple(r.to_list()) for r in d.lost),
        changed=tuple(tuple(r.to_list()) for r in d.changed), summary=found.summary, revocations_open=still,
        revocations_closed=gone, directory=services.directory.kind)
    with services.store.write() as s:
        if (_snapshot_day(s) or "") >= day:  # today's is there (or a later day's: a host whose clock is behind)
            return None
        head = s.exec(select(func.max(ChangeLog.seq)).where(ChangeLog.kind == ev.ACCESS_SNAPSHOT)).one()
        if head != history.last_seq:  # another snapshot landed meanwhile (another host's clock): next time
            return None
        entry = log.append(s, snap, ts=now)
        for r in gone:
            row = s.get(AccessReviewRow, (r.review_id, r.row))
            if row is not None:
                row.closed_seq = entry.seq
        setting = s.get(Setting, SNAPSHOT_DAY)
        if setting is None:
            s.add(Setting(key=SNAPSHOT_DAY, value=day))
        else:
            setting.value = day
    if still:
        logger.warning("access snapshot %s: %d revoked right(s) still held", day, len(still))
    return entry


def _snapshot_day(session: Session) -> str | None:
    row = session.get(Setting, SNAPSHOT_DAY)
    return row.value if row is not None else None


def pending_revocations(session: Session) -> list[ev.Revocation]:
    """Revocations of signed reviews that no snapshot has yet found done."""
    query = (select(AccessReviewRow).join(AccessReview, col(AccessReview.id) == col(AccessReviewRow.review_id))
             .where(AccessReviewRow.decision == "revoke", col(AccessReviewRow.closed_seq).is_(None),
                    AccessReview.state == "signed")
             .order_by(col(AccessReviewRow.review_id), col(AccessReviewRow.position)))
    return [revocation(row) for row in session.exec(query).all()]


def revocation(row: AccessReviewRow) -> ev.Revocation:
    c = json.loads(row.columns)
    return ev.Revocation(review_id=row.review_id, row=row.position, decided_seq=row.decided_seq or 0,
                         username=c["username"], right=c["right"], repo=c["repo"], category=c["category"],
                         group=c["group"])


def run_due(services: Services, now: datetime | None = None) -> bool:
    """The scheduler's job: claim today's run (once across workers), then take the snapshot."""
    if not services.config.access.daily_snapshot:
        return False
    now = now or services.clock()
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    if not claim(services.store, NEXT_RUN, midnight, now):
        return False
    try:
        return take_snapshot(services, now.strftime(FORMAT)) is not None
    except Exception:  # e.g. the directory is down: give the day back, a later tick tries again
        with services.store.write() as s:
            postpone(s, NEXT_RUN, now + RETRY)
        raise


# -- joiners, movers, leavers ------------------------------------------------------------------------
CHANGE_COLUMNS = verifier_access.CHANGE_COLUMNS  # the pack's access-changes.csv


def change_rows(session: Session, start: str, end: str, upto: int | None = None) -> list[dict[str, Any]]:
    """Rights gained, lost and changed by the snapshots logged in ``[start, end)``, each with the seq
    of the snapshot that first showed it; the first snapshot ever is the ``baseline``."""
    out: list[dict[str, Any]] = []

    def collect(seq: int, ts: str, snap: ev.AccessSnapshot, d: pa.Diff) -> None:
        if not start <= ts < end:
            return
        first = snap.previous_seq is None
        for what, items in (("baseline" if first else "gained", d.gained), ("lost", d.lost), ("changed", d.changed)):
            out.extend(change_row(snap.day, what, r, seq) for r in items)

    replay(session, upto, on_diff=collect)
    return out


def change_row(day: str, what: str, r: pa.Right, seq: int) -> dict[str, Any]:
    """One row of ``access-changes.csv``, as the pack's projection makes it (``verifier.access.change_row``)."""
    return verifier_access.change_row(day, what, r.to_list(), seq)
