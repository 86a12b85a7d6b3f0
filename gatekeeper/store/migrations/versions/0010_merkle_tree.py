"""The Merkle tree over the change log and the witnesses' cosignatures (issue 21, SPEC §12).

``merkle_node`` holds every perfect subtree of 16 leaves or more (``store.tree``); the migration
builds it for the entries already logged (one streaming pass, batched inserts). Both tables are
append-only like the log itself: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("merkle_node", "witness_cosignature")


def _sqlite_triggers(table: str) -> tuple[str, ...]:
    return tuple(f"CREATE TRIGGER {table}_no_{op_} BEFORE {op_.upper()} ON {table} "
                 f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op_.upper()} refused'); END"
                 for op_ in ("update", "delete"))


PG_FUNCTION = """CREATE OR REPLACE FUNCTION gatekeeper_tree_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
      RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
    END $$"""


def _pg_triggers(table: str) -> tuple[str, ...]:
    return (f"""CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION gatekeeper_tree_append_only()""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION gatekeeper_tree_append_only()""")


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table("merkle_node"):
        op.create_table(
            "merkle_node",
            sa.Column("level", sa.Integer(), nullable=False, autoincrement=False),
            sa.Column("idx", sa.BigInteger(), nullable=False, autoincrement=False),
            sa.Column("hash", sa.LargeBinary(), nullable=False),
            sa.PrimaryKeyConstraint("level", "idx"),
        )
    if not inspector.has_table("witness_cosignature"):
        op.create_table(
            "witness_cosignature",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("size", sa.BigInteger(), nullable=False),
            sa.Column("witness", sa.String(), nullable=False),
            sa.Column("line", sa.Text(), nullable=False),
            sa.Column("received_at", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("size", "witness"),
        )
        op.create_index("ix_witness_cosignature_size", "witness_cosignature", ["size"])
    _build_tree(bind)
    sqlite = bind.dialect.name == "sqlite"
    if not sqlite:
        op.execute(PG_FUNCTION)
    for table in TABLES:
        for stmt in _sqlite_triggers(table) if sqlite else _pg_triggers(table):
            op.execute(stmt)


def _build_tree(bind: sa.engine.Connection) -> None:
    """The nodes of every entry logged so far (none when the table already has them)."""
    from gatekeeper.store.tree import Rebuild

    if bind.execute(sa.text("SELECT 1 FROM merkle_node LIMIT 1")).first() is not None:
        return
    after, batch, state = 0, [], Rebuild()
    insert = sa.text("INSERT INTO merkle_node (level, idx, hash) VALUES (:level, :idx, :hash)")
    while True:
        rows = bind.execute(sa.text("SELECT seq, hash FROM change_log WHERE seq > :a ORDER BY seq LIMIT 5000"),
                            {"a": after}).all()
        if not rows:
            break
        for seq, h in rows:
            batch.extend(state.add(seq, h))
            after = seq
        if batch:
            bind.execute(insert, [{"level": lv, "idx": ix, "hash": hh} for lv, ix, hh in batch])
            batch = []


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS gatekeeper_tree_append_only()")
    op.drop_table("witness_cosignature")
    op.drop_table("merkle_node")
