"""Access review campaigns and their rows (SPEC §12 "Access review", issue 24).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("access_review"):
        return  # a database made by create_all from today's models (adopted as 0001) has it already
    op.create_table(
        "access_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("opened_at", sa.String(), nullable=False),
        sa.Column("opened_seq", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rows_sha256", sa.String(), nullable=False),
        sa.Column("signed_by", sa.String(), nullable=True),
        sa.Column("signed_at", sa.String(), nullable=True),
        sa.Column("signed_seq", sa.Integer(), nullable=True),
        sa.Column("meaning", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "access_review_row",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column("comment", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", sa.String(), nullable=True),
        sa.Column("decided_seq", sa.Integer(), nullable=True),
        sa.Column("closed_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["access_review.id"]),
        sa.PrimaryKeyConstraint("review_id", "position"),
    )
    op.create_index("ix_access_review_row_username", "access_review_row", ["username"])
    op.create_index("ix_access_review_row_revoked", "access_review_row", ["decision", "closed_seq"])


def downgrade() -> None:
    op.drop_table("access_review_row")
    op.drop_table("access_review")
