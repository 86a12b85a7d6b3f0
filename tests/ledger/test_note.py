"""Signed notes against the reference vector of golang.org/x/mod/sumdb/note (note_test.go: the
PeterNeumann key and note), checkpoints and cosignatures as C2SP tlog-checkpoint/tlog-cosignature
define them."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gatekeeper.ledger import note

VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
SIG = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
       "BwJnAM=\n")


def ed25519(public: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def peter() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(SKEY.split("+", 4)[4])[1:])


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_the_reference_note_verifies_and_signing_reproduces_it() -> None:
    v = note.parse_vkey(VKEY)
    assert (v.name, v.sig_type, v.key_hash.hex()) == ("PeterNeumann", note.SIG_ED25519, "c74f20a3")
    assert v.vkey() == VKEY
    body, who = note.open_note(TEXT + "\n" + SIG, [v], ed25519)
    assert body == TEXT and [w.name for w in who] == ["PeterNeumann"]
    key = peter()
    assert raw(key) == v.public
    assert note.sign_note(TEXT, "PeterNeumann", raw(key), key.sign) == TEXT + "\n" + SIG


@pytest.mark.parametrize("bad", [
    VKEY.replace("c74f20a3", "c74f20a4"),                      # key id not that of the key
    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",   # wrong length
    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",           # unknown type
    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",          # space in name
    "PeterNeumann+c74f20a3", "", "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
])
def test_mangled_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        note.parse_vkey(bad)


def test_a_changed_note_or_an_unknown_key_does_not_open() -> None:
    v = note.parse_vkey(VKEY)
    with pytest.raises(ValueError, match="does not verify"):
        note.open_note(TEXT.replace("cryptography", "cryptographY") + "\n" + SIG, [v], ed25519)
    other = note.NoteVerifier("PeterNeumann", note.SIG_ED25519, raw(Ed25519PrivateKey.generate()))
    with pytest.raises(ValueError, match="no signature by a trusted key"):
        note.open_note(TEXT + "\n" + SIG, [other], ed25519)
    for broken in (TEXT + SIG, TEXT + "\n" + SIG.rstrip("\n"), TEXT + "\n" + SIG.replace("\u2014", "--"),
                   "a\x07b\n\n" + SIG):
        with pytest.raises(ValueError):
            note.open_note(broken, [v], ed25519)


def test_checkpoint_text_and_cosignature_follow_the_c2sp_specs() -> None:
    log_key, witness_key = peter(), Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)
    root = hashlib.sha256(b"x").digest()
    body = note.checkpoint_body("gatekeeper/plant-a", 42, root)
    assert body == f"gatekeeper/plant-a\n42\n{base64.b64encode(root).decode()}\n"
    assert note.parse_checkpoint_body(body) == note.CheckpointBody("gatekeeper/plant-a", 42, root)
    signed = note.sign_note(body, "gatekeeper/plant-a", raw(log_key), log_key.sign)
    line = note.cosign(body, "witness.example/w1", raw(witness_key), 1679315147, witness_key.sign)
    w = note.NoteVerifier("witness.example/w1", note.SIG_COSIGNATURE, raw(witness_key))
    # the key ID of an Ed25519 cosigner: SHA-256(name || "\n" || 0x04 || key)[:4]
    assert w.key_hash == hashlib.sha256(b"witness.example/w1\n\x04" + raw(witness_key)).digest()[:4]
    sig = base64.b64decode(line.split(" ")[2])
    assert sig[:4] == w.key_hash and int.from_bytes(sig[4:12], "big") == 1679315147
    witness_key.public_key().verify(sig[12:], b"cosignature/v1\ntime 1679315147\n" + body.encode())
    lg = note.NoteVerifier("gatekeeper/plant-a", note.SIG_ED25519, raw(log_key))
    got, who = note.open_note(signed + line, [lg, note.parse_vkey(w.vkey())], ed25519)
    assert got == body and [(x.name, x.timestamp) for x in who] == [
        ("gatekeeper/plant-a", None), ("witness.example/w1", 1679315147)]
    assert note.parse_signature_line(line).name == "witness.example/w1"


@pytest.mark.parametrize("body", ["o\n01\nAAAA\n", "o\n1\n", "o\n1\nnotbase64!\n", "o\n1\nAAAA\n",
                                  "o\n\n1\nAAAA\n", "o\n1\n" + base64.b64encode(bytes(32)).decode()])
def test_malformed_checkpoints_are_refused(body: str) -> None:
    with pytest.raises(ValueError):
        note.parse_checkpoint_body(body)
