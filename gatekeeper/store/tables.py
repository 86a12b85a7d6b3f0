"""The database tables. Core code never sees these: the store converts them to plain values.

JSON-valued columns hold canonical JSON text so the same bytes come back on SQLite and PostgreSQL.
The change log table is named ``change_log`` (SPEC §10) and is append-only (triggers in db.py).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Text, UniqueConstraint
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
