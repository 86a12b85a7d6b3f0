"""Drift detection: the last check of each live source (issue 15, SPEC §11).

Revision ID: 0006
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("drift_state"):
        return  # a database made by create_all from today's models (adopted as 0001) has it already
    op.create_table(
        "drift_state",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("repo", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("live_sha256", sa.String(), nullable=False),
        sa.Column("expected_commit", sa.String(), nullable=False),
        sa.Column("checked_at", sa.String(), nullable=False),
        sa.Column("since", sa.String(), nullable=False),
        sa.Column("log_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("drift_state")
