"""A witness's decisions (C2SP tlog-witness), pure: it cosigns only a checkpoint signed by a log key it
trusts that extends the last one it cosigned; rollbacks, forks, bad proofs and strangers are refused."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.ledger import merkle, note
from gatekeeper.ledger.checkpoint import ed25519_verify, raw_public_key
from gatekeeper.witness import core

LOG = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
WITNESS = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
ORIGIN = "gatekeeper/plant-a"
TRUSTED = {ORIGIN: [note.NoteVerifier(ORIGIN, note.SIG_ED25519, raw_public_key(LOG.public_key()))]}


def tree(n: int, fork_at: int | None = None) -> merkle.TreeBuilder:
    t = merkle.TreeBuilder(keep=True)
    for i in range(n):
        t.append(merkle.leaf_hash(b"fork" if i == fork_at else i.to_bytes(4, "big")))
    return t


def request(t: merkle.TreeBuilder, size: int, old: int, key: Ed25519PrivateKey = LOG, origin: str = ORIGIN,
            proof: list[bytes] | None = None) -> bytes:
    body = note.checkpoint_body(origin, size, t.root_at(size))
    signed = note.sign_note(body, origin, raw_public_key(key.public_key()), key.sign)
    if proof is None:
        proof = [merkle.range_hash(a, b, t.node) for a, b in merkle.consistency_ranges(old, size)]
    return (f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + signed).encode()


def decide(body: bytes, latest: core.Latest | None) -> core.Decision:
    return core.decide(body, TRUSTED, lambda origin: latest, ed25519_verify, "w.example/w1",
                       raw_public_key(WITNESS.public_key()), WITNESS.sign, 1_700_000_000)


def test_first_and_next_checkpoints_are_cosigned() -> None:
    t = tree(20)
    first = decide(request(t, 7, 0), None)
    assert first.status == 200 and first.cosigned is not None and first.cosigned.size == 7
    w = note.NoteVerifier("w.example/w1", note.SIG_COSIGNATURE, raw_public_key(WITNESS.public_key()))
    body = note.checkpoint_body(ORIGIN, 7, t.root_at(7))
    got = note.verify_signatures(body, [note.parse_signature_line(first.body)], [w], ed25519_verify)
    assert [(v.name, v.timestamp) for v in got] == [("w.example/w1", 1_700_000_000)]
    nxt = decide(request(t, 20, 7), core.Latest(7, t.root_at(7)))
    assert nxt.status == 200
    same = decide(request(t, 7, 7), core.Latest(7, t.root_at(7)))
    assert same.status == 200  # the same tree again: cosigned again


@pytest.mark.parametrize(("case", "status"), [
    ("rollback", 409), ("stale old size", 409), ("fork, same size", 409), ("fork, larger", 422),
    ("unknown log", 404), ("another key", 403), ("old above size", 400), ("garbage", 400),
    ("proof from 0", 422), ("broken proof", 422),
])
def test_refusals(case: str, status: int) -> None:
    t, forked = tree(20), tree(20, fork_at=3)
    have = core.Latest(12, t.root_at(12))
    body = {
        "rollback": request(t, 9, 9),
        "stale old size": request(t, 20, 9),
        "fork, same size": request(forked, 12, 12),
        "fork, larger": request(forked, 20, 12),
        "unknown log": request(t, 20, 12, origin="gatekeeper/other"),
        "another key": request(t, 20, 12, key=Ed25519PrivateKey.generate()),
        "old above size": request(t, 10, 12, proof=[]),
        "garbage": b"hello\n\nworld",
        "proof from 0": request(t, 5, 0, proof=[bytes(32)]),
        "broken proof": request(t, 20, 12, proof=[bytes(32)] * 3),
    }[case]
    d = decide(body, None if case == "proof from 0" else have)
    assert d.status == status, d.body
    if status == 409:
        assert d.content_type == core.SIZE_TYPE and d.body == "12\n"


def test_the_witness_keeps_its_name_and_the_logs_it_trusts(tmp_path: Path) -> None:
    from gatekeeper.witness.state import WitnessState

    state = WitnessState(tmp_path / "w.db")
    assert state.name(None, "w.example/default") == "w.example/default"   # the first run fixes it
    with pytest.raises(ValueError, match="never changes"):
        state.name("w.example/other", "w.example/default")
    log_key = TRUSTED[ORIGIN][0]
    state.trust(log_key.vkey())
    state.trust(log_key.vkey())                                             # twice is once
    cosigner = note.NoteVerifier("w.example/w1", note.SIG_COSIGNATURE, raw_public_key(WITNESS.public_key()))
    with pytest.raises(ValueError, match="type 0x01"):
        state.trust(cosigner.vkey())
    again = WitnessState(tmp_path / "w.db")                                 # a restart reads both back
    assert again.logs() == TRUSTED and again.name(None, "x.example/y") == "w.example/default"
