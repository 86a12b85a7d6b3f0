"""The whole schema of the walking skeleton, and the append-only triggers on change_log (SPEC §8).

A database made by the skeleton's ``create_all`` (no ``alembic_version``) is adopted as this
revision by ``store.schema.upgrade``; its tables are the same.

Revision ID: 0001
Revises:
Create Date: 2024-05-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The database itself refuses to change the log: any UPDATE or DELETE (and TRUNCATE on PostgreSQL,
# which skips row triggers) aborts. Only the owner of the table can drop these triggers; the
# service's role must not own it (docs/postgresql.md).
SQLITE_TRIGGERS = (
    "CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log "
    "BEGIN SELECT RAISE(ABORT, 'change_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log "
    "BEGIN SELECT RAISE(ABORT, 'change_log is append-only: DELETE refused'); END",
)
PG_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION gatekeeper_change_log_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN
         RAISE EXCEPTION 'change_log is append-only: % refused', TG_OP;
       END $$""",
    """CREATE TRIGGER change_log_no_update_delete BEFORE UPDATE OR DELETE ON change_log
       FOR EACH ROW EXECUTE FUNCTION gatekeeper_change_log_append_only()""",
    """CREATE TRIGGER change_log_no_truncate BEFORE TRUNCATE ON change_log
       FOR EACH STATEMENT EXECUTE FUNCTION gatekeeper_change_log_append_only()""",
)


def _text(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(), nullable=nullable)


def _json(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        _text("ts"), _text("kind"), _text("actor"), _json("payload"), _text("prev_hash"), _text("hash"),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_change_log_kind", "change_log", ["kind"])
    op.create_index("ix_change_log_ts", "change_log", ["ts"])
    op.create_table(
        "change_log_ref",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", "change_id"),
    )
    op.create_index("ix_change_log_ref_change_id", "change_log_ref", ["change_id"])
    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("repo"), _text("topic_ref"), _text("target"), _text("title"), _text("ticket"), _text("state"),
        _text("requested_by"), _text("requested_at"), _json("categories"),
        sa.Column("financial", sa.Boolean(), nullable=False),
        sa.Column("current_revision", sa.Integer(), nullable=False),
        _text("approved_at", True), _text("deployed_at", True), _text("deployed_by", True),
        _text("deployed_commit", True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        _text("emergency_reason", True), _text("emergency_deadline", True), _text("retro_approved_at", True),
        _text("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_change_request_requested_at", "change_request", ["requested_at"])
    op.create_index("ix_cr_repo_topic", "change_request", ["repo", "topic_ref"])
    op.create_index("ix_cr_state", "change_request", ["state"])
    op.create_table(
        "repo",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("name"), _text("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_repo_name", "repo", ["name"], unique=True)
    op.create_table("setting", _text("key"), _text("value"), sa.PrimaryKeyConstraint("key"))
    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _text("fingerprint"), _text("username"), _text("name"), _text("group_name"), _text("decision"),
        _text("meaning"), _text("comment"), _text("signed_at"), _json("memberships"),
        sa.Column("log_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["change_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_change_id", "approval", ["change_id"])
    op.create_index("ix_approval_signed_at", "approval", ["signed_at"])
    op.create_table(
        "deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=True),
        _text("repo"), _text("ref"), _text("old"), _text("new"), _text("pushed_by"), _text("at"),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("log_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["change_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deployment_at", "deployment", ["at"])
    op.create_index("ix_deployment_change_id", "deployment", ["change_id"])
    op.create_table(
        "revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _text("fingerprint"), _text("head"), _text("base"), _text("pushed_by"), _text("pushed_at"),
        _json("commits"), _json("findings"), _json("semantic_diff"), _json("sod_findings"),
        sa.ForeignKeyConstraint(["change_id"], ["change_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("change_id", "number"),
    )
    op.create_index("ix_revision_change_id", "revision", ["change_id"])
    op.create_table(
        "change_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        _text("path"), _text("status"), _text("old_blob"), _text("new_blob"), _text("old_mode"),
        _text("new_mode"), _json("categories"),
        sa.ForeignKeyConstraint(["revision_id"], ["revision.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_change_file_revision_id", "change_file", ["revision_id"])
    for stmt in SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else PG_TRIGGERS:
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS change_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS change_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS change_log_no_update_delete ON change_log")
        op.execute("DROP TRIGGER IF EXISTS change_log_no_truncate ON change_log")
        op.execute("DROP FUNCTION IF EXISTS gatekeeper_change_log_append_only()")
    for table in ("change_file", "revision", "deployment", "approval", "setting", "repo", "change_request",
                  "change_log_ref", "change_log"):
        op.drop_table(table)
