"""Pages people can work in (issue 25): each revision's title and description, the file contents of
topic pushes (for "changes since your last review"), the revision each person last saw, and sign
forms kept across a re-authentication.

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A database made by create_all from today's models (adopted as 0001) has all of it already.
    if "title" not in {c["name"] for c in inspector.get_columns("revision")}:
        with op.batch_alter_table("revision") as batch:
            batch.add_column(sa.Column("title", sa.String(), nullable=True))
            batch.add_column(sa.Column("title_source", sa.String(), nullable=True))
            batch.add_column(sa.Column("description", sa.Text(), nullable=True))
    if not inspector.has_table("content_blob"):
        op.create_table(
            "content_blob",
            sa.Column("blob", sa.String(), nullable=False),
            sa.Column("data", sa.LargeBinary(), nullable=False),
            sa.PrimaryKeyConstraint("blob"),
        )
    if not inspector.has_table("change_seen"):
        op.create_table(
            "change_seen",
            sa.Column("username", sa.String(), nullable=False),
            sa.Column("change_id", sa.Integer(), nullable=False),
            sa.Column("revision", sa.Integer(), nullable=False),
            sa.Column("previous", sa.Integer(), nullable=True),
            sa.Column("seen_at", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("username", "change_id"),
        )
    if not inspector.has_table("sign_draft"):
        op.create_table(
            "sign_draft",
            sa.Column("username", sa.String(), nullable=False),
            sa.Column("change_id", sa.Integer(), nullable=False),
            sa.Column("revision", sa.Integer(), nullable=False),
            sa.Column("decision", sa.String(), nullable=False),
            sa.Column("meaning", sa.String(), nullable=False),
            sa.Column("comment", sa.Text(), nullable=False),
            sa.Column("saved_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("username", "change_id"),
        )


def downgrade() -> None:
    op.drop_table("sign_draft")
    op.drop_table("change_seen")
    op.drop_table("content_blob")
    with op.batch_alter_table("revision") as batch:
        batch.drop_column("description")
        batch.drop_column("title_source")
        batch.drop_column("title")
