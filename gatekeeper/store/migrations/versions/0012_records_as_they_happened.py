"""What was shown and who it was (issues 22 and 23): tickets per revision and signature, one spelling per person.

- ``revision.ticket``: the ticket a revision is for (a new ticket is a new revision to approve);
  revisions recorded before take their CR's ticket, the one they were shown with.
- ``approval.ticket``, ``approval.title``, ``approval.target``: what the signer was shown; NULL for
  signatures recorded before (such a signature counts for any ticket, as it always did).
- A person is one value: names stored before the pusher was canonicalised (``Carol`` beside
  ``carol``) are rewritten to the spelling the newest record of that person uses (written through
  the directory since canonical names existed; spellings are the same person when they are equal
  under NFKC case folding, as the directory matches them), and the sentinel ``(unknown)`` of a push
  that named no pusher becomes the empty name.

Revision ID: 0012
Revises: 0011
Create Date: 2027-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENTINEL = "(unknown)"
# (table, name column, time column): where a person's name is stored.
NAMES = (("change_request", "requested_by", "requested_at"), ("change_request", "deployed_by", "deployed_at"),
         ("revision", "pushed_by", "pushed_at"), ("approval", "username", "signed_at"),
         ("deployment", "pushed_by", "at"), ("deploy_intent", "pusher", "decided_at"))


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    if "ticket" not in _columns("revision"):
        with op.batch_alter_table("revision") as batch:
            batch.add_column(sa.Column("ticket", sa.String(), nullable=False, server_default=""))
        op.execute("UPDATE revision SET ticket = COALESCE((SELECT ticket FROM change_request "
                   "WHERE change_request.id = revision.change_id), '')")
    have = _columns("approval")
    with op.batch_alter_table("approval") as batch:
        for name in ("ticket", "title", "target"):
            if name not in have:
                batch.add_column(sa.Column(name, sa.String(), nullable=True))
    _one_spelling()


def _one_spelling() -> None:
    from gatekeeper.policy.people import fold

    conn = op.get_bind()
    newest: dict[str, tuple[str, str]] = {}   # folded name -> (time, spelling) of its newest record
    spellings: set[str] = set()
    for table, column, when in NAMES:
        rows = conn.execute(sa.text(f"SELECT {column}, MAX({when}) FROM {table} "
                                    f"WHERE {column} IS NOT NULL GROUP BY {column}")).all()
        for name, at in rows:
            if not name or name == SENTINEL:
                continue
            spellings.add(name)
            key = fold(name)
            if key not in newest or (at or "") > newest[key][0]:
                newest[key] = (at or "", name)
    for table, column, _ in NAMES:
        conn.execute(sa.text(f"UPDATE {table} SET {column} = '' WHERE {column} = :s"), {"s": SENTINEL})
        for name in sorted(spellings):
            canonical = newest[fold(name)][1]
            if canonical != name:
                conn.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
                             {"new": canonical, "old": name})


def downgrade() -> None:
    with op.batch_alter_table("approval") as batch:
        for name in ("target", "title", "ticket"):
            batch.drop_column(name)
    with op.batch_alter_table("revision") as batch:
        batch.drop_column("ticket")
