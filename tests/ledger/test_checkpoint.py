"""Checkpoints: Ed25519 over a domain-separated canonical message; strict parsing (SPEC §10)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.errors import InputError
from gatekeeper.ledger.checkpoint import (
    CHECKPOINT_DOMAIN,
    Checkpoint,
    key_id,
    load_private_key_pem,
    load_public_key_pem,
    public_key_pem,
    sign,
    verify_signature,
)

KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
HASH = "ab" * 32
TS = "2024-05-01T08:00:00.000000Z"


def test_key_id_is_sha256_of_the_raw_public_key() -> None:
    raw = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key_id(KEY.public_key()) == hashlib.sha256(raw).hexdigest()[:16]


def test_signature_covers_the_spec_message() -> None:
    cp = sign(42, HASH, TS, KEY)
    message = CHECKPOINT_DOMAIN + json.dumps({"seq": 42, "hash": HASH, "ts": TS, "key_id": cp.key_id},
                                             sort_keys=True, separators=(",", ":")).encode()
    KEY.public_key().verify(base64.b64decode(cp.signature), message)  # raises if not
    assert verify_signature(cp, KEY.public_key())


@pytest.mark.parametrize("field", ["seq", "hash", "ts"])
def test_any_changed_field_breaks_the_signature(field: str) -> None:
    cp = sign(42, HASH, TS, KEY)
    changed = {"seq": 43, "hash": "cd" * 32, "ts": "2024-05-01T08:00:01.000000Z"}[field]
    assert not verify_signature(Checkpoint(**{**cp.to_dict(), field: changed}), KEY.public_key())


def test_another_key_does_not_verify() -> None:
    other = Ed25519PrivateKey.from_private_bytes(b"\x08" * 32)
    assert not verify_signature(sign(1, HASH, TS, KEY), other.public_key())


def test_json_round_trip() -> None:
    cp = sign(42, HASH, TS, KEY)
    assert Checkpoint.from_json(cp.to_json()) == cp


GOOD: dict[str, Any] = sign(42, HASH, TS, KEY).to_dict()


@pytest.mark.parametrize(("change", "message"), [
    ({"seq": None}, "field 'seq' is missing"),
    ({"seq": 0}, "field 'seq' must be a positive integer"),
    ({"seq": True}, "field 'seq' must be a positive integer"),
    ({"seq": "42"}, "field 'seq' must be a positive integer"),
    ({"hash": "AB" * 32}, "field 'hash' must be 64 lowercase hex"),
    ({"hash": "ab"}, "field 'hash' must be 64 lowercase hex"),
    ({"ts": "yesterday"}, "field 'ts' must be an RFC 3339"),
    ({"ts": "2024-13-01T00:00:00Z"}, "field 'ts' must be an RFC 3339"),
    ({"key_id": "xyz"}, "field 'key_id' must be 16 lowercase hex"),
    ({"signature": "not base64!"}, "field 'signature' must be a base64"),
    ({"signature": base64.b64encode(b"short").decode()}, "field 'signature' must be a base64"),
    ({"extra": 1}, "unexpected field 'extra'"),
])
def test_from_json_rejects_each_bad_field_by_name(change: dict[str, Any], message: str) -> None:
    data = {**GOOD, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(InputError, match=message):
        Checkpoint.from_json(json.dumps(data), "cp.json")


@pytest.mark.parametrize(("text", "message"), [("{", "not JSON"), ("[]", "must be a JSON object")])
def test_from_json_rejects_non_objects(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Checkpoint.from_json(text)


def test_pem_helpers() -> None:
    pem = public_key_pem(KEY.public_key())
    assert key_id(load_public_key_pem(pem)) == key_id(KEY.public_key())
    private = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert key_id(load_private_key_pem(private).public_key()) == key_id(KEY.public_key())
    with pytest.raises(InputError, match="not a PEM public key"):
        load_public_key_pem(b"garbage")
    with pytest.raises(InputError, match="not an unencrypted PEM private key"):
        load_private_key_pem(pem)
