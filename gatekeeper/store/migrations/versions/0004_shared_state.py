"""State every worker and host shares (issue 12): lockout counters, server-side web sessions and
rate-limit counters. None of these is evidence (the change log is); rows may be pruned.

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_counter",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("failures", sa.Text(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=False),
        sa.Column("locks", sa.Integer(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_auth_counter_last", "auth_counter", ["last"])
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("client", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.Column("revoked_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_session_username", "web_session", ["username"])
    op.create_table(
        "rate_counter",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_rate_counter_window", "rate_counter", ["window"])


def downgrade() -> None:
    for table in ("rate_counter", "web_session", "auth_counter"):
        op.drop_table(table)
