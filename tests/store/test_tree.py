"""The stored Merkle tree (store.tree) on SQLite and PostgreSQL: the same roots and proofs as the pure
tree over the same entry hashes, at every size; rebuilt by the migration for a log that predates it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gatekeeper.errors import InputError
from gatekeeper.ledger import merkle
from gatekeeper.ledger.events import ChangeWithdrawn
from gatekeeper.store import log, schema, tree
from gatekeeper.store.db import Store


def fill(store: Store, n: int) -> merkle.TreeBuilder:
    with store.write() as s:
        for i in range(n):
            log.append(s, ChangeWithdrawn(change_id=i, reason="x", state="withdrawn"), "alice")
    built = merkle.TreeBuilder(keep=True)
    with store.read() as s:
        for r in log.rows(s):
            built.append(merkle.leaf_hash(bytes.fromhex(r[6])))
    return built


def test_roots_and_proofs_match_the_pure_tree(store: Store) -> None:
    n = 150  # stored subtrees of 16, 32, 64 and 128 entries, and smaller ones hashed from the entries
    built = fill(store, n)
    with store.read() as s:
        conn = s.connection()
        assert tree.tree_size(conn) == n
        assert [tree.root(conn, size) for size in range(1, n + 1)] == [built.root_at(size) for size in range(1, n + 1)]
        assert tree.root(conn) == built.root()
        for seq in range(1, n + 1):
            size, proof = tree.inclusion_proof(conn, seq, n)
            assert size == n and proof == built.inclusion_proof(seq - 1, n)
            assert merkle.verify_inclusion(built.node(0, seq - 1), seq - 1, n, proof, built.root())
        for old in range(0, n + 1, 7):
            size, proof = tree.consistency_proof(conn, old)
            assert merkle.verify_consistency(old, size, proof, built.root_at(old), built.root())
        with pytest.raises(InputError, match=f"not in a tree of {n}"):
            tree.inclusion_proof(conn, n + 1)
        with pytest.raises(InputError, match=f"between 0 and the log's size {n}"):
            tree.consistency_proof(conn, 3, n + 3)


def test_the_tree_is_append_only(store: Store) -> None:
    fill(store, 32)  # two stored subtrees of 16 entries
    for stmt in ("UPDATE merkle_node SET hash = hash", "DELETE FROM merkle_node"):
        with pytest.raises(Exception, match="append-only"), store.write() as s:
            s.connection().execute(text(stmt))


def test_the_migration_builds_the_tree_of_an_older_log(store: Store) -> None:
    built = fill(store, 23)
    schema.downgrade(store, "0009")
    with store.write() as s:
        for i in range(3):
            log_append_without_tree(s, i)
    schema.upgrade(store)
    with store.read() as s:
        for r in list(log.rows(s))[23:]:
            built.append(merkle.leaf_hash(bytes.fromhex(r[6])))
        assert tree.root(s.connection()) == built.root()


def log_append_without_tree(s: object, i: int) -> None:
    """An entry as a version before the tree wrote it (the merkle_node table does not exist yet)."""
    from gatekeeper.ledger.canonical import canon
    from gatekeeper.ledger.entry import entry_hash

    conn = s.connection()  # type: ignore[attr-defined]
    seq, prev = conn.execute(text("SELECT seq, hash FROM change_log ORDER BY seq DESC LIMIT 1")).first()
    ts = log.utc_now()
    h = entry_hash(seq + 1, ts, "old.kind", "x", {"i": i}, prev)
    conn.execute(text("INSERT INTO change_log (seq, ts, kind, actor, payload, prev_hash, hash) "
                      "VALUES (:s, :t, 'old.kind', 'x', :p, :prev, :h)"),
                 {"s": seq + 1, "t": ts, "p": canon({"i": i}).decode(), "prev": prev, "h": h})
