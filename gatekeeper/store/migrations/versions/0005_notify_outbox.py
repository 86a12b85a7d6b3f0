"""Notifications (issue 14, SPEC §11): the outbox, users' mail preferences, the CR's ITSM ticket state.

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database made by ``create_all`` from today's models (adopted as 0001 by store.schema) has these already.
    inspector = sa.inspect(op.get_bind())
    if inspector.has_table("notify_outbox"):
        return
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("log_seq", sa.Integer(), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.String(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("sent_at", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key", "channel", "target"),
    )
    op.create_index("ix_notify_due", "notify_outbox", ["state", "next_at"])
    op.create_table(
        "notify_pref",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("opt_out", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    if "ticket_state" not in {c["name"] for c in inspector.get_columns("change_request")}:
        op.add_column("change_request", sa.Column("ticket_state", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("change_request") as batch:
        batch.drop_column("ticket_state")
    op.drop_table("notify_pref")
    op.drop_index("ix_notify_due", table_name="notify_outbox")
    op.drop_table("notify_outbox")
