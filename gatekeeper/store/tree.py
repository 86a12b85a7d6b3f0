"""The log's Merkle tree in the database (SPEC §12): roots and proofs in O(log n) reads.

The leaves are the entries' own hashes in ``change_log``; every perfect subtree of ``SPAN`` (16)
leaves or more is a ``merkle_node`` row (level ≥ 4, index, hash), and a smaller one is hashed from
at most 16 consecutive entry hashes, read in one range query. ``store.log.append`` calls
``add_leaf`` in the entry's transaction, under the writer lock that serialises appends, so the tree
grows exactly with the log and concurrent writers can never fork it. Fifteen appends in sixteen do
nothing; the sixteenth reads the fifteen hashes before it (and, when it completes bigger subtrees,
their left siblings) and writes one row per completed level: about one row per 16 entries, which
keeps the tree's cost on an append far below a database round trip. The hashing is
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
LOW = 4                 # levels below this are not stored: hashed from the entries when needed
SPAN = 1 << LOW

Node = tuple[int, int, bytes]


def new_nodes(seq: int, leaves: Sequence[bytes], sibling: Callable[[int, int], bytes]) -> list[Node]:
    """The stored subtrees entry ``seq`` completes: (level, index, hash), level ``LOW`` up.

    ``leaves`` are the leaf hashes of the ``SPAN`` entries ending with ``seq`` (only needed when ``seq``
    is a multiple of ``SPAN``); ``sibling(level, index)`` gives the left sibling of each further level.
    """
    i = seq - 1
    if seq % SPAN:
        return []
    h = _low(leaves, LOW, 0)
    out = [(LOW, i >> LOW, h)]
    level = LOW
    while (i >> level) & 1:
        h = merkle.node_hash(sibling(level, (i >> level) - 1), h)
        level += 1
        out.append((level, i >> level, h))
    return out


def _low(leaves: Sequence[bytes], level: int, index: int) -> bytes:
    """A perfect subtree of the ``leaves`` window (leaf hashes) by level and index within it."""
    nodes = list(leaves[index << level:(index + 1) << level])
    while len(nodes) > 1:
        nodes = [merkle.node_hash(nodes[k], nodes[k + 1]) for k in range(0, len(nodes), 2)]
    return nodes[0]


class Rebuild:
    """``new_nodes`` for a streaming rebuild (migration 0010, benchmarks): the last ``SPAN`` leaves and
    the newest node of each level, which is always the left sibling the next completed node needs."""

    def __init__(self) -> None:
        self.window: list[bytes] = []
        self.last: dict[int, bytes] = {}

    def add(self, seq: int, entry_hash: str) -> list[Node]:
        self.window = [*self.window[-(SPAN - 1):], merkle.leaf_hash(bytes.fromhex(entry_hash))]
        made = new_nodes(seq, self.window, lambda level, _idx: self.last[level])
        for level, _idx, h in made:
            self.last[level] = h
        return made


def add_leaf(conn: Connection, seq: int, entry_hash: str, prev_hash: str) -> None:
    """Store the nodes entry ``seq`` completes (``store.log.append``, inside its transaction)."""
    if seq % SPAN:
        return
    i, m = seq - 1, _marker(conn)
    leaves = [merkle.leaf_hash(bytes.fromhex(h)) for _s, h in _run(conn, _window_sql(m), [seq - SPAN, seq])]
    if len(leaves) != SPAN:
        raise InputError(f"the log lacks entries before seq {seq}: its Merkle tree cannot grow")
    wanted, level = [], LOW
    while (i >> level) & 1:
        wanted.append((level, (i >> level) - 1))
        level += 1
    siblings = _fetch_nodes(conn, wanted) if wanted else {}
    rows = new_nodes(seq, leaves, lambda lv, ix: siblings[(lv, ix)])
    _run(conn, _insert_sql(m), [(lv, ix, h) for lv, ix, h in rows], many=True)


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
def _window_sql(m: str) -> str:
    return f"SELECT seq, hash FROM change_log WHERE seq > {m} AND seq <= {m} ORDER BY seq"


@cache
def _leaves_sql(m: str, n: int) -> str:
    return ("SELECT seq, hash FROM change_log WHERE "
            + " OR ".join([f"(seq > {m} AND seq <= {m})"] * n))


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
    """Perfect subtrees by (level, index): below ``LOW`` hashed from the log's entry hashes (one query for
    all of them), the others from merkle_node (one query)."""
    wanted = set(wanted)
    got: dict[tuple[int, int], bytes] = {}
    m = _marker(conn)
    low = sorted((lv, ix) for lv, ix in wanted if lv < LOW)
    if low:
        spans = sorted({(ix << lv, (ix + 1) << lv) for lv, ix in low})   # leaf index ranges [a, b)
        leaf = {seq - 1: merkle.leaf_hash(bytes.fromhex(h))
                for seq, h in _run(conn, _leaves_sql(m, len(spans)), [x for a, b in spans for x in (a, b)])}
        for lv, ix in low:
            a = ix << lv
            if all(a + k in leaf for k in range(1 << lv)):
                got[(lv, ix)] = _low([leaf[a + k] for k in range(1 << lv)], lv, 0)
    inner = sorted((lv, ix) for lv, ix in wanted if lv >= LOW)
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
