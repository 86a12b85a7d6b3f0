"""The Merkle tree over the change log (SPEC §12), hashed as RFC 6962 §2.1: pure, standard library only.

The leaves are the entries' hashes in seq order (leaf index = seq - 1, leaf data = the 32 raw bytes
of the entry hash); ``leaf = SHA-256(0x00 || data)``, ``node = SHA-256(0x01 || left || right)``, and
a tree of n leaves splits at the largest power of two below n. Inclusion and consistency proofs are
those of RFC 6962 §2.1.1-2 (PATH and PROOF), checked with the algorithms of RFC 9162 §2.1.3.2 and
§2.1.4.2, so any RFC 6962 implementation (Go's transparency-dev/merkle, sigsum, Trillian) agrees.

This module is copied into the standalone ``verify.py`` (``gatekeeper.verifier.bundle``): it may
import only the standard library, and its top-level names must not clash with the other bundled
modules'.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Fetch = Callable[[int, int], bytes]   # (level, index) of a perfect subtree -> its hash


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962: MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962: SHA-256(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): where RFC 6962 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(start: int, end: int, fetch: Fetch) -> bytes:
    """MTH(D[start:end]) for a range that occurs in RFC 6962's recursion, from perfect subtrees.

    Every such range starts at a multiple of the power of two it splits at, so its left part is a
    perfect subtree (``fetch(level, index)``) and only its right edge recurses: O(log n) fetches.
    """
    size = end - start
    if size <= 0:
        raise ValueError(f"empty range {start}..{end}")
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return fetch(level, start >> level)
    k = split_point(size)
    return node_hash(range_hash(start, start + k, fetch), range_hash(start + k, end, fetch))


def range_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, index)`` that ``range_hash(start, end)`` fetches, left to right."""
    out: list[tuple[int, int]] = []
    while end > start:
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            level = size.bit_length() - 1
            out.append((level, start >> level))
            break
        k = split_point(size)
        level = k.bit_length() - 1
        out.append((level, start >> level))
        start += k
    return out


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make the inclusion proof of ``index`` in a tree of ``size``
    (RFC 6962 §2.1.1 PATH), from the leaf's sibling up to the root's other child."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of {size} leaves")
    out: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make the consistency proof from ``old`` to ``new`` leaves
    (RFC 6962 §2.1.2 SUBPROOF(m, D[n], true)); empty when old is 0 or old == new."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new} leaves")
    if old in (0, new):
        return []
    out: list[tuple[int, int]] = []
    start, end, complete = 0, new, True
    while True:
        m = old - start
        if m == end - start:
            if not complete:
                out.append((start, end))
            break
        k = split_point(end - start)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, complete = start + k, False
    out.reverse()
    return out


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show the leaf hash ``leaf`` at ``index`` in the tree ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``old_root`` of ``old`` leaves a prefix of ``new_root``'s tree?

    From 0 leaves anything follows (with an empty proof), as the witness protocol requires.
    """
    if not 0 <= old <= new:
        return False
    if old == 0:
        return not proof
    if old == new:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class TreeBuilder:
    """Leaves appended one by one; the root of any prefix on the way. O(log n) memory, or, with
    ``keep=True``, every perfect subtree kept (32 bytes each, about 64 bytes per leaf) so that
    proofs can be answered from memory (tests; the verifier keeps only the right edge)."""

    def __init__(self, keep: bool = False) -> None:
        self.size = 0
        self.stack: list[bytes] = []       # perfect subtrees of the right edge, largest first
        self.levels: list[bytearray] | None = [] if keep else None

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (``leaf_hash`` of the data). Written for speed: a verifier calls it a
        million times."""
        h, n, stack, levels = leaf, self.size, self.stack, self.levels
        level = 0
        if levels is not None:
            if not levels:
                levels.append(bytearray())
            levels[0] += h
        while n & 1:
            h = hashlib.sha256(NODE_PREFIX + stack.pop() + h).digest()
            n >>= 1
            level += 1
            if levels is not None:
                if len(levels) == level:
                    levels.append(bytearray())
                levels[level] += h
        stack.append(h)
        self.size += 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Add many leaf hashes at once: each aligned perfect block is reduced level by level in list
        comprehensions (no call per node, ``perfect_subtrees``), then joins the right edge like one leaf of
        its level. The same tree as ``append`` of each; about three times faster (the verifier's million
        leaves)."""
        if self.levels is not None:
            for leaf in leaves:
                self.append(leaf)
            return
        for level, h in perfect_subtrees(self.size, leaves):
            self.add_perfect(level, h)

    def add_perfect(self, level: int, h: bytes) -> None:
        """Add the perfect subtree of 2**level leaves whose hash is ``h`` (the tree's size must be a multiple
        of 2**level): how the verifier joins the pieces that workers hashed (``perfect_subtrees``)."""
        if self.levels is not None or self.size % (1 << level):
            raise ValueError(f"a perfect subtree of level {level} cannot follow {self.size} leaves here")
        n, stack, sha = self.size >> level, self.stack, hashlib.sha256
        while n & 1:
            h = sha(NODE_PREFIX + stack.pop() + h).digest()
            n >>= 1
        stack.append(h)
        self.size += 1 << level

    def root(self) -> bytes:
        """MTH of the leaves so far (SHA-256 of the empty string for none)."""
        stack = self.stack
        if not stack:
            return EMPTY_ROOT
        h = stack[-1]
        for s in reversed(stack[:-1]):
            h = node_hash(s, h)
        return h

    def node(self, level: int, index: int) -> bytes:
        """A kept perfect subtree's hash (``keep=True``)."""
        if self.levels is None or level >= len(self.levels):
            raise KeyError((level, index))
        data = self.levels[level]
        if (index + 1) * 32 > len(data):
            raise KeyError((level, index))
        return bytes(data[index * 32:(index + 1) * 32])

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        return [range_hash(a, b, self.node) for a, b in inclusion_ranges(index, size)]

    def root_at(self, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else range_hash(0, size, self.node)


def perfect_subtrees(index: int, leaves: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """``leaves`` (leaf hashes from leaf ``index`` on) as the perfect subtrees (level, hash) a tree puts them
    in, left to right: each as large as the alignment of its first leaf and the leaves left allow. Added
    in order with ``TreeBuilder.add_perfect`` to a tree of ``index`` leaves, they give the tree of all."""
    out: list[tuple[int, bytes]] = []
    i, total, sha = 0, len(leaves), hashlib.sha256
    while i < total:
        at = index + i
        level = min((total - i).bit_length() - 1, (at & -at).bit_length() - 1 if at else 64)
        layer = leaves[i:i + (1 << level)]
        while len(layer) > 1:
            layer = [sha(NODE_PREFIX + layer[j] + layer[j + 1]).digest() for j in range(0, len(layer), 2)]
        out.append((level, layer[0]))
        i += 1 << level
    return out
