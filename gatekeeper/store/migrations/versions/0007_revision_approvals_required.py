"""``revision.approvals_required``: the approval rules in force when the revision was opened (issue 11).

The register shows what the policy required when the change was requested, not what today's policy
would require. Revisions recorded before this column existed keep NULL; the register then falls
back to today's policy and says so (docs/audit.md).

Revision ID: 0007
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database made by create_all from today's models and adopted as 0001 already has the column.
    if "approvals_required" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("revision")}:
        return
    with op.batch_alter_table("revision") as batch:
        batch.add_column(sa.Column("approvals_required", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("revision") as batch:
        batch.drop_column("approvals_required")
