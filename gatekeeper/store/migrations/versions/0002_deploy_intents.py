"""Deploy intents (SPEC §11, issue 11 items 1, 6–8) and the gate's path index (issue 18).

``deploy_intent`` holds the gate's decision for each protected ref update until post-receive
confirms or voids it; ``change_path`` maps (repo, target, path) to the current revision of every
open CR, filled here from the existing CRs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database made by create_all from today's models (the skeleton adoption path) has them already.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "deploy_intent" not in existing:
        _deploy_intent()
    if "change_path" not in existing:
        _change_path()


def _deploy_intent() -> None:
    op.create_table(
        "deploy_intent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(), nullable=False), sa.Column("ref", sa.String(), nullable=False),
        sa.Column("old", sa.String(), nullable=False), sa.Column("new", sa.String(), nullable=False),
        sa.Column("pusher", sa.String(), nullable=False), sa.Column("decided_at", sa.String(), nullable=False),
        sa.Column("decision_seq", sa.Integer(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("settled_at", sa.String(), nullable=True),
        sa.Column("settled_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deploy_intent_repo_state", "deploy_intent", ["repo", "state"])


def _change_path() -> None:
    op.create_table(
        "change_path",
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("repo", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["change_request.id"]),
        sa.PrimaryKeyConstraint("change_id", "path"),
    )
    op.create_index("ix_change_path_lookup", "change_path", ["repo", "target", "path"])
    op.execute(
        "INSERT INTO change_path (change_id, path, repo, target, revision_id) "
        "SELECT DISTINCT cr.id, f.path, cr.repo, cr.target, r.id FROM change_request cr "
        "JOIN revision r ON r.change_id = cr.id AND r.number = cr.current_revision "
        "JOIN change_file f ON f.revision_id = r.id "
        "WHERE cr.state IN ('pending', 'approved', 'rejected') AND NOT cr.emergency")


def downgrade() -> None:
    op.drop_index("ix_change_path_lookup", table_name="change_path")
    op.drop_table("change_path")
    op.drop_index("ix_deploy_intent_repo_state", table_name="deploy_intent")
    op.drop_table("deploy_intent")
