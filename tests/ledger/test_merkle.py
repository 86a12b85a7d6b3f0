"""RFC 6962 hashing against the published Certificate Transparency vectors (as used by
transparency-dev/merkle's tests), and every proof of every small tree checked both ways."""

from __future__ import annotations

import pytest

from gatekeeper.ledger import merkle

DATA = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                   "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (index, size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
CONSISTENCY = [  # (old, new, proof)
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def tree(leaves: list[bytes]) -> merkle.TreeBuilder:
    t = merkle.TreeBuilder(keep=True)
    for d in leaves:
        t.append(merkle.leaf_hash(d))
    return t


def test_roots_match_rfc6962() -> None:
    t = merkle.TreeBuilder()
    assert t.root().hex() == ROOTS[0]
    for n, d in enumerate(DATA, 1):
        t.append(merkle.leaf_hash(d))
        assert t.root().hex() == ROOTS[n]
    kept = tree(DATA)
    assert [kept.root_at(n).hex() for n in range(9)] == ROOTS


def test_leaves_added_in_blocks_make_the_same_tree() -> None:
    """``extend`` (aligned blocks reduced at once, as verify.py adds leaves) against ``append`` one by one,
    for every size up to 70 and blocks that start anywhere."""
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(70)]
    for cut in (1, 3, 8, 13, 64):
        one, blocks = merkle.TreeBuilder(), merkle.TreeBuilder()
        for i, leaf in enumerate(leaves):
            one.append(leaf)
            if (i + 1) % cut == 0 or i + 1 == len(leaves):
                blocks.extend(leaves[blocks.size:i + 1])
                assert (blocks.size, blocks.root()) == (one.size, one.root()), (cut, i)
    kept = merkle.TreeBuilder(keep=True)  # a kept tree takes them one by one (its levels)
    kept.extend(leaves[:9])
    assert kept.root() == one_root(leaves[:9]) and kept.root_at(5) == one_root(leaves[:5])


def one_root(leaves: list[bytes]) -> bytes:
    t = merkle.TreeBuilder()
    for leaf in leaves:
        t.append(leaf)
    return t.root()


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(index: int, size: int, proof: list[str]) -> None:
    t = tree(DATA)
    got = t.inclusion_proof(index, size)
    assert [h.hex() for h in got] == proof
    leaf = merkle.leaf_hash(DATA[index])
    assert merkle.verify_inclusion(leaf, index, size, got, bytes.fromhex(ROOTS[size]))
    assert not merkle.verify_inclusion(leaf, index + 1, size, got, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(old: int, new: int, proof: list[str]) -> None:
    t = tree(DATA)
    got = [merkle.range_hash(a, b, t.node) for a, b in merkle.consistency_ranges(old, new)]
    assert [h.hex() for h in got] == proof
    assert merkle.verify_consistency(old, new, got, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]))
    assert not merkle.verify_consistency(old, new, got, bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new]))


def test_every_proof_of_every_small_tree_verifies_and_nothing_else_does() -> None:
    data = [bytes([i, i * 7 % 256]) for i in range(37)]
    t = tree(data)
    for size in range(1, len(data) + 1):
        root = t.root_at(size)
        for i in range(size):
            proof = t.inclusion_proof(i, size)
            leaf = merkle.leaf_hash(data[i])
            assert merkle.verify_inclusion(leaf, i, size, proof, root)
            assert not merkle.verify_inclusion(merkle.leaf_hash(b"x"), i, size, proof, root)
            if proof:
                bad = [*proof[:-1], bytes(32)]
                assert not merkle.verify_inclusion(leaf, i, size, bad, root)
                assert not merkle.verify_inclusion(leaf, i, size, proof[:-1], root)
        for old in range(0, size + 1):
            proof = [merkle.range_hash(a, b, t.node) for a, b in merkle.consistency_ranges(old, size)]
            assert merkle.verify_consistency(old, size, proof, t.root_at(old), root), (old, size)
            if 0 < old < size:
                assert not merkle.verify_consistency(old, size, proof, merkle.leaf_hash(b"fork"), root)
                assert not merkle.verify_consistency(old, size, proof[1:], t.root_at(old), root)


def test_range_nodes_are_the_fetches_of_range_hash() -> None:
    """For every range a proof uses (the only ranges RFC 6962's recursion produces)."""
    for size in range(1, 40):
        ranges = {(0, size), *(r for i in range(size) for r in merkle.inclusion_ranges(i, size)),
                  *(r for old in range(size) for r in merkle.consistency_ranges(old, size))}
        for start, end in ranges:
            fetched: list[tuple[int, int]] = []

            def fetch(level: int, index: int, fetched: list[tuple[int, int]] = fetched) -> bytes:
                fetched.append((level, index))
                return bytes(32)

            merkle.range_hash(start, end, fetch)
            assert merkle.range_nodes(start, end) == fetched


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(3, 3)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(4, 3)
    assert not merkle.verify_consistency(0, 3, [bytes(32)], b"", b"")
    assert not merkle.verify_inclusion(bytes(32), 5, 3, [], bytes(32))
