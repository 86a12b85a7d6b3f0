"""The database tables. Core code never sees these: the store converts them to plain values.

JSON-valued columns hold canonical JSON text so the same bytes come back on SQLite and PostgreSQL.
The change log table is named ``change_log`` (SPEC §10) and is append-only (triggers in db.py).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Repo(SQLModel, table=True):
    __tablename__ = "repo"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    created_at: str


class ChangeRequest(SQLModel, table=True):
    __tablename__ = "change_request"
    __table_args__ = (Index("ix_cr_repo_topic", "repo", "topic_ref"), Index("ix_cr_state", "state"))
    id: int | None = Field(default=None, primary_key=True)
    repo: str
    topic_ref: str
    target: str
    title: str = ""
    ticket: str = ""
    state: str
    requested_by: str
    requested_at: str = Field(index=True)
    categories: str = Field(default="[]", sa_column=Column(Text, nullable=False))   # JSON list
    financial: bool = False
    current_revision: int = 0
    approved_at: str | None = None
    deployed_at: str | None = None
    deployed_by: str | None = None
    deployed_commit: str | None = None
    emergency: bool = False
    emergency_reason: str | None = None
    emergency_deadline: str | None = None
    retro_approved_at: str | None = None
    updated_at: str = ""
    ticket_state: str | None = None  # the ITSM state last checked (signing, gate); SPEC §11 register column


class Revision(SQLModel, table=True):
    __tablename__ = "revision"
    __table_args__ = (UniqueConstraint("change_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="change_request.id", index=True)
    number: int
    fingerprint: str
    head: str
    base: str
    pushed_by: str
    pushed_at: str
    commits: str = Field(default="[]", sa_column=Column(Text, nullable=False))        # JSON
    findings: str = Field(default="[]", sa_column=Column(Text, nullable=False))       # JSON
    semantic_diff: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON
    sod_findings: str = Field(default="[]", sa_column=Column(Text, nullable=False))   # JSON (authoring)
    # JSON [{group, count}]: the rules in force when the revision was opened; NULL before migration 0007
    approvals_required: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ticket: str = ""  # the ticket this revision is for: a new ticket is a new revision (issue 22 item 5)
    # The revision's own title and description (policy.titles; NULL before migration 0011) and where the
    # title came from: "option" (the author set it), "commit" (the latest subject) or "ref".
    title: str | None = None
    title_source: str | None = None
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ChangeFile(SQLModel, table=True):
    __tablename__ = "change_file"
    id: int | None = Field(default=None, primary_key=True)
    revision_id: int = Field(foreign_key="revision.id", index=True)
    path: str
    status: str
    old_blob: str
    new_blob: str
    old_mode: str
    new_mode: str
    categories: str = Field(default="[]", sa_column=Column(Text, nullable=False))     # JSON


class Approval(SQLModel, table=True):
    __tablename__ = "approval"
    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="change_request.id", index=True)
    revision: int
    fingerprint: str
    username: str
    name: str
    group: str = Field(sa_column_kwargs={"name": "group_name"})
    decision: str
    meaning: str
    comment: str = ""
    signed_at: str = Field(index=True)
    memberships: str = Field(default="[]", sa_column=Column(Text, nullable=False))    # JSON
    log_seq: int
    # What the signer was shown (issue 22 item 5); NULL: signed before migration 0012 recorded them.
    ticket: str | None = None
    title: str | None = None
    target: str | None = None


class Deployment(SQLModel, table=True):
    __tablename__ = "deployment"
    id: int | None = Field(default=None, primary_key=True)
    change_id: int | None = Field(default=None, foreign_key="change_request.id", index=True)
    repo: str
    ref: str
    old: str
    new: str
    pushed_by: str
    at: str = Field(index=True)
    emergency: bool = False
    log_seq: int


class ChangeLog(SQLModel, table=True):
    """One log entry; ``payload`` is canonical JSON text, so the hash recomputes from the row."""

    __tablename__ = "change_log"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    ts: str = Field(index=True)
    kind: str = Field(index=True)
    actor: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str
    hash: str


class ChangeLogRef(SQLModel, table=True):
    """Which log entries concern which CR (the register's ``log_seqs``); not part of the hash."""

    __tablename__ = "change_log_ref"
    seq: int = Field(primary_key=True)
    change_id: int = Field(primary_key=True, index=True)


class Setting(SQLModel, table=True):
    """Small facts the service remembers (e.g. the last policy hash logged as config.loaded)."""

    __tablename__ = "setting"
    key: str = Field(primary_key=True)
    value: str


class NotifyOutbox(SQLModel, table=True):
    """One delivery (event × channel × target) of the notification outbox (SPEC §11).

    Rows are inserted by ``store.log.append`` in the transaction of the log entry they tell of, so
    nothing is lost; ``(event_key, channel, target)`` is unique, so nothing is enqueued twice and the
    delivery id derived from it is stable across retries and restarts.
    """

    __tablename__ = "notify_outbox"
    __table_args__ = (UniqueConstraint("event_key", "channel", "target"), Index("ix_notify_due", "state", "next_at"))
    id: int | None = Field(default=None, primary_key=True)
    event_key: str
    event: str
    channel: str
    target: str
    log_seq: int | None = None
    change_id: int | None = None
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON snapshot
    state: str = "pending"  # pending | sending | sent | expanded | held | dead | skipped
    attempts: int = 0
    next_at: str
    last_error: str = ""
    created_at: str
    sent_at: str | None = None


class NotifyPref(SQLModel, table=True):
    """A user's mail choice: opt out of non-mandatory mail, or get it as one daily digest."""

    __tablename__ = "notify_pref"
    username: str = Field(primary_key=True)
    opt_out: bool = False
    digest: bool = False
    updated_at: str = ""


class DriftState(SQLModel, table=True):
    """The last drift check of each source (``/drift``); the log holds every check (``drift.*``)."""

    __tablename__ = "drift_state"
    source: str = Field(primary_key=True)
    repo: str
    path: str
    state: str                     # "in line" | "drift" | "error"
    summary: str = ""
    diff: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON: [{path, changes}]
    live_sha256: str = ""
    expected_commit: str = ""
    checked_at: str
    since: str                     # when the current state began
    log_seq: int                   # the drift.checked entry of the last check


class DeployIntent(SQLModel, table=True):
    """The gate's decision for one protected ref update, recorded before git moves the ref (SPEC §11).

    ``state``: ``open`` until post-receive (or a later hook run, or ``audit reconcile``) settles it as
    ``confirmed`` (git made the update) or ``voided`` (it did not). ``decision`` is the canonical JSON
    of ``ledger.events.DeployIntent`` — what post-receive records, never re-decided.
    """

    __tablename__ = "deploy_intent"
    __table_args__ = (Index("ix_deploy_intent_repo_state", "repo", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    repo: str
    ref: str
    old: str
    new: str
    pusher: str
    decided_at: str
    decision_seq: int
    emergency: bool = False
    decision: str = Field(sa_column=Column(Text, nullable=False))                     # JSON
    state: str = "open"
    settled_at: str | None = None
    settled_seq: int | None = None


class ChangePath(SQLModel, table=True):
    """Index (repo, target, path) → the current revision of an open, non-emergency CR (issue 18).

    The gate reads only the CRs whose current revision touches a path of the push, in one query.
    Rows are replaced when a CR gets a new revision and removed when it is deployed or withdrawn.
    """

    __tablename__ = "change_path"
    __table_args__ = (Index("ix_change_path_lookup", "repo", "target", "path"),)
    change_id: int = Field(primary_key=True, foreign_key="change_request.id")
    path: str = Field(primary_key=True)
    repo: str
    target: str
    revision_id: int


class AuthCounter(SQLModel, table=True):
    """Brute-force counters shared by every worker and host (directory.lockout): one row per
    (client address, identity) pair and one per identity; ``failures`` is a JSON list of epoch times."""

    __tablename__ = "auth_counter"
    key: str = Field(primary_key=True)
    failures: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    locked_until: float = 0.0
    locks: int = 0
    last: float = Field(default=0.0, index=True)


class WebSession(SQLModel, table=True):
    """A signed-in browser (web.sessions): the cookie holds a random id, this row holds its SHA-256,
    so sign-out and an admin's "sign out everywhere" end it on every worker and host."""

    __tablename__ = "web_session"
    id: str = Field(primary_key=True)  # sha256 hex of the cookie's token
    username: str = Field(index=True)
    client: str = ""
    created_at: float
    last_seen: float
    revoked_at: float | None = None
    revoked_by: str | None = None


class RateCounter(SQLModel, table=True):
    """Fixed-window request counters for the rate limits (web.ratelimit), shared by all workers."""

    __tablename__ = "rate_counter"
    key: str = Field(primary_key=True)
    window: int = Field(index=True)
    count: int = 0


class AccessReview(SQLModel, table=True):
    """An access review campaign (SPEC §12, issue 24): the rows under review are fixed when it opens
    (``access_review_row``); every decision and the signature are also log entries (``access.*``)."""

    __tablename__ = "access_review"
    id: int | None = Field(default=None, primary_key=True)
    repo: str = ""                 # "" = every repo
    state: str = "open"            # open | signed
    opened_by: str
    opened_at: str
    opened_seq: int
    rows: int = 0
    rows_sha256: str = ""
    signed_by: str | None = None
    signed_at: str | None = None
    signed_seq: int | None = None
    meaning: str | None = None


class AccessReviewRow(SQLModel, table=True):
    """One row of a campaign, as opened (``columns``: canonical JSON of ``policy.access.Row.to_dict``)
    and as decided; a revocation stays open until a snapshot no longer finds the right (``closed_seq``)."""

    __tablename__ = "access_review_row"
    __table_args__ = (Index("ix_access_review_row_revoked", "decision", "closed_seq"),)
    review_id: int = Field(primary_key=True, foreign_key="access_review.id")
    position: int = Field(primary_key=True)
    username: str = Field(index=True)
    columns: str = Field(sa_column=Column(Text, nullable=False))   # JSON
    decision: str | None = None    # keep | revoke
    comment: str = ""
    decided_by: str | None = None
    decided_at: str | None = None
    decided_seq: int | None = None
    closed_seq: int | None = None  # revoke: the access.snapshot that no longer found the right


class MerkleNode(SQLModel, table=True):
    """One perfect subtree of the log's Merkle tree (store.tree, SPEC §12): ``level`` ≥ 1 (2^level
    leaves), ``idx`` its position at that level, ``hash`` its RFC 6962 hash (32 bytes). Leaves are the
    entries' hashes in ``change_log``; written by ``store.log.append`` in the entry's transaction and
    append-only like the log (triggers, migration 0010)."""

    __tablename__ = "merkle_node"
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class WitnessCosignature(SQLModel, table=True):
    """A witness's cosignature of one checkpoint (store.witnesses, SPEC §12): the note signature line
    the witness returned for the checkpoint of ``size`` leaves (C2SP tlog-cosignature)."""

    __tablename__ = "witness_cosignature"
    __table_args__ = (UniqueConstraint("size", "witness"),)
    id: int | None = Field(default=None, primary_key=True)
    size: int = Field(index=True)
    witness: str
    line: str = Field(sa_column=Column(Text, nullable=False))
    received_at: str


class ContentBlob(SQLModel, table=True):
    """File contents the hook sent with a topic push, by git blob id (issue 25: "changes since your last
    review" diffs two revisions with the same format modules, and the service has no repo to read)."""

    __tablename__ = "content_blob"
    blob: str = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ChangeSeen(SQLModel, table=True):
    """The revision of a CR a person last opened the change page at, and the one they had seen before
    it (so "changes since your last review" stays on the page until a newer revision is seen)."""

    __tablename__ = "change_seen"
    username: str = Field(primary_key=True)
    change_id: int = Field(primary_key=True)
    revision: int
    previous: int | None = None
    seen_at: str


class SignDraft(SQLModel, table=True):
    """A signature form whose session ended before it was sent (issue 25 item 1): its decision, meaning
    and comment, kept for that user and CR until they sign in again. Never the password."""

    __tablename__ = "sign_draft"
    username: str = Field(primary_key=True)
    change_id: int = Field(primary_key=True)
    revision: int
    decision: str
    meaning: str = ""
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    saved_at: float
