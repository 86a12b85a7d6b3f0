"""The log's Merkle tree in the database (SPEC §12): roots and proofs in O(log n) reads.

Every perfect subtree of two or more leaves is a ``merkle_node`` row (level, index, hash); the
leaves are the entries' own hashes in ``change_log``. ``store.log.append`` calls ``add_leaf`` in
the entry's transaction, under the writer lock that serialises appends, so the tree grows exactly
with the log and concurrent writers can never fork it. An odd leaf completes a node at level 1,
and each further trailing one bit of its index a node one level up: half the appends write nothing,
the others one row per completed level, on average one row per entry. The hashing is
``ledger.merkle`` (RFC 6962); this module only reads and writes rows.

Why not ``pymerkle``: its SQLite backend keeps its own leaf table and sizes, so every entry would be
stored twice, it has no PostgreSQL backend and no notion of our writer lock; the tree here is the
few dozen lines below over rows written in the log's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection

from gatekeeper.errors import InputError
from gatekeeper.ledger import merkle
from gatekeeper.store.tables import ChangeLog

_LOG = ChangeLog.__table__  # type: ignore[attr-defined]

Node = tuple[int, int, bytes]


def new_nodes(seq: int, entry_hash: str, prev_hash: str, sibling: Callable[[int, int], bytes]) -> list[Node]:
    """The subtrees the entry ``seq`` completes: (level, index, hash) from level 1 up.

    ``prev_hash`` is the entry before it (its left neighbour leaf); ``sibling(level, index)`` gives
    the left sibling of each further level.
    """
    i = seq - 1
    if not i & 1:
        return []
    h = merkle.node_hash(merkle.leaf_hash(bytes.fromhex(prev_hash)), merkle.leaf_hash(bytes.fromhex(entry_hash)))
    out = [(1, i >> 1, h)]
    level = 1
    while (i >> level) & 1:
        h = merkle.node_hash(sibling(level, (i >> level) - 1), h)
        level += 1
        out.append((level, i >> level, h))
    return out


def nodes_for_hashes(seq: int, entry_hash: str, prev_hash: str | None, last: list[bytes]) -> list[Node]:
    """``new_nodes`` for a streaming rebuild (migration 0008): ``last[level]`` is the newest node of each
    level, which is always the left sibling the next completed node needs."""
    made = new_nodes(seq, entry_hash, prev_hash or "", lambda level, _idx: last[level])
    for level, _idx, h in made:
        while len(last) <= level:
            last.append(b"")
        last[level] = h
    return made


def add_leaf(conn: Connection, seq: int, entry_hash: str, prev_hash: str) -> None:
    """Store the nodes entry ``seq`` completes (``store.log.append``, inside its transaction)."""
    i = seq - 1
    if not i & 1:
        return
    wanted = []
    level = 1
    while (i >> level) & 1:
        wanted.append((level, (i >> level) - 1))
        level += 1
    siblings = _fetch_nodes(conn, wanted) if wanted else {}
    rows = new_nodes(seq, entry_hash, prev_hash, lambda lv, ix: siblings[(lv, ix)])
    _run(conn, _insert_sql(_marker(conn)), [(lv, ix, h) for lv, ix, h in rows], many=True)


# Plain SQL on the transaction's DB-API cursor, its text cached per shape: building and compiling a
# SQLAlchemy statement costs more than the query itself, and this runs in every append (issue 21's
# target: the tree adds at most 0.1 ms to an append) and every proof.
def _marker(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


@cache
def _insert_sql(m: str) -> str:
    return f"INSERT INTO merkle_node (level, idx, hash) VALUES ({m}, {m}, {m})"


@cache
def _nodes_sql(m: str, n: int) -> str:
    return ("SELECT level, idx, hash FROM merkle_node WHERE "
            + " OR ".join([f"(level = {m} AND idx = {m})"] * n))


@cache
def _leaves_sql(m: str, n: int) -> str:
    return f"SELECT seq, hash FROM change_log WHERE seq IN ({', '.join([m] * n)})"


def _run(conn: Connection, sql: str, params: Sequence[Any], *, many: bool = False) -> list[tuple[Any, ...]]:
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
            return []
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _fetch_nodes(conn: Connection, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Perfect subtrees by (level, index): level 0 from the log's entry hashes, the others from merkle_node."""
    wanted = set(wanted)
    got: dict[tuple[int, int], bytes] = {}
    m = _marker(conn)
    leaves = sorted(ix + 1 for lv, ix in wanted if lv == 0)
    if leaves:
        for seq, h in _run(conn, _leaves_sql(m, len(leaves)), leaves):
            got[(0, seq - 1)] = merkle.leaf_hash(bytes.fromhex(h))
    inner = sorted((lv, ix) for lv, ix in wanted if lv > 0)
    if inner:
        for lv, ix, h in _run(conn, _nodes_sql(m, len(inner)), [x for pair in inner for x in pair]):
            got[(lv, ix)] = bytes(h)
    missing = wanted - set(got)
    if missing:
        lv, ix = min(missing)
        raise InputError(f"the Merkle tree lacks the subtree at level {lv}, index {ix}: the log and its tree "
                         "disagree (run `gatekeeper log verify`)")
    return got


def _ranges_hashes(conn: Connection, ranges: list[tuple[int, int]]) -> list[bytes]:
    wanted = {n for a, b in ranges for n in merkle.range_nodes(a, b)}
    nodes = _fetch_nodes(conn, wanted)
    return [merkle.range_hash(a, b, lambda lv, ix: nodes[(lv, ix)]) for a, b in ranges]


def tree_size(conn: Connection) -> int:
    last = conn.execute(sa_select(_LOG.c.seq).order_by(_LOG.c.seq.desc()).limit(1)).first()
    return int(last[0]) if last else 0


def _check_size(conn: Connection, size: int | None) -> int:
    head = tree_size(conn)
    if size is None:
        return head
    if not 0 <= size <= head:
        raise InputError(f"tree size {size} is not between 0 and the log's size {head}")
    return size


def root(conn: Connection, size: int | None = None) -> bytes:
    """The RFC 6962 root of the first ``size`` entries (default: all)."""
    size = _check_size(conn, size)
    return merkle.EMPTY_ROOT if size == 0 else _ranges_hashes(conn, [(0, size)])[0]


def inclusion_proof(conn: Connection, seq: int, size: int | None = None) -> tuple[int, list[bytes]]:
    """The tree size and the proof that entry ``seq`` (leaf ``seq - 1``) is in the tree of that size."""
    size = _check_size(conn, size)
    if not 1 <= seq <= size:
        raise InputError(f"seq {seq} is not in a tree of {size} entries")
    return size, _ranges_hashes(conn, merkle.inclusion_ranges(seq - 1, size))


def consistency_proof(conn: Connection, old: int, new: int | None = None) -> tuple[int, list[bytes]]:
    """The tree size and the proof that the tree of ``old`` entries is a prefix of the one of ``new``."""
    new = _check_size(conn, new)
    if not 0 <= old <= new:
        raise InputError(f"--from {old} must be between 0 and --to {new}")
    return new, _ranges_hashes(conn, merkle.consistency_ranges(old, new))
