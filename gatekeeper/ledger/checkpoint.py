"""Signed checkpoints of the change log (SPEC §8, §10). Pure: keys come in as objects or PEM bytes.

A checkpoint says "the entry with this ``seq`` had this ``hash``", signed with Ed25519 over
``b"gatekeeper.checkpoint.v1\\x00" + canon({seq, hash, ts, key_id})``. Kept outside the database
(a Git ref, an auditor's file), it lets anyone with the public key detect a rewritten or truncated
log without trusting the database administrator. The domain tag keeps a checkpoint signature from
ever being valid for a log entry or a patch fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gatekeeper.errors import InputError
from gatekeeper.ledger import note as notes
from gatekeeper.ledger.canonical import canon

CHECKPOINT_DOMAIN = b"gatekeeper.checkpoint.v1\x00"
FIELDS = ("seq", "hash", "ts", "key_id", "signature")
# SPEC §12: the C2SP signed note of the same tree (size = seq) and the witnesses' cosignature lines.
OPTIONAL = ("note", "cosignatures")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 over the raw 32-byte public key (SPEC §10)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A signed (seq, hash); valid in form once built, its signature is checked by ``verify_signature``."""

    seq: int
    hash: str
    ts: str
    key_id: str
    signature: str
    note: str = ""                       # C2SP tlog-checkpoint signed by the same key (SPEC §12)
    cosignatures: tuple[str, ...] = ()   # witnesses' note signature lines (C2SP tlog-cosignature)

    def __post_init__(self) -> None:
        _check_fields(self.to_dict(), "checkpoint")

    def message(self) -> bytes:
        return signed_message(self.seq, self.hash, self.ts, self.key_id)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "hash": self.hash, "ts": self.ts, "key_id": self.key_id,
                               "signature": self.signature}
        if self.note or self.cosignatures:  # SPEC §12: the note and the witnesses' cosignatures (maybe none yet)
            out["note"] = self.note
            out["cosignatures"] = list(self.cosignatures)
        return out

    def body(self) -> notes.CheckpointBody | None:
        """The tree the note signs (origin, size = seq, root), or None for a checkpoint without one."""
        return notes.parse_checkpoint_body(notes.split_note(self.note)[0]) if self.note else None

    def to_json(self) -> bytes:
        return canon(self.to_dict()) + b"\n"

    @classmethod
    def from_dict(cls, data: Any, source: str = "checkpoint") -> Checkpoint:
        """Build from parsed JSON, rejecting each bad or unknown field by name (``InputError``)."""
        if not isinstance(data, dict):
            raise InputError(f"{source}: a checkpoint must be a JSON object with {', '.join(FIELDS)}")
        _check_fields(data, source)
        return cls(**{k: data[k] for k in FIELDS}, note=data.get("note", ""),
                   cosignatures=tuple(data.get("cosignatures", ())))

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "checkpoint") -> Checkpoint:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{source}: not JSON: {exc}") from exc
        return cls.from_dict(data, source)


def signed_message(seq: int, hash: str, ts: str, key: str) -> bytes:
    return CHECKPOINT_DOMAIN + canon({"seq": seq, "hash": hash, "ts": ts, "key_id": key})


def sign(seq: int, hash: str, ts: str, private_key: Ed25519PrivateKey, *, origin: str | None = None,
         root: bytes | None = None) -> Checkpoint:
    """Sign that entry ``seq`` has ``hash`` (as of ``ts``); with ``origin`` and the Merkle ``root`` of the
    first ``seq`` entries, also the C2SP checkpoint note of that tree, signed by the same key."""
    kid = key_id(private_key.public_key())
    signature = private_key.sign(signed_message(seq, hash, ts, kid))
    note = ""
    if origin is not None and root is not None:
        body = notes.checkpoint_body(origin, seq, root)
        note = notes.sign_note(body, origin, raw_public_key(private_key.public_key()), private_key.sign)
    return Checkpoint(seq=seq, hash=hash, ts=ts, key_id=kid, signature=base64.b64encode(signature).decode(),
                      note=note)


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def note_verifier(public_key: Ed25519PublicKey, origin: str) -> notes.NoteVerifier:
    """The log's note verifier key (what a witness is told to trust: ``gatekeeper keys show``)."""
    return notes.NoteVerifier(origin, notes.SIG_ED25519, raw_public_key(public_key))


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """``ledger.note``'s Ed25519 check, with ``cryptography``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_signature(cp: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True only if ``cp`` names this key and its signature is valid for it."""
    if cp.key_id != key_id(public_key):
        return False
    try:
        public_key.verify(base64.b64decode(cp.signature, validate=True), cp.message())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def load_public_key_pem(data: bytes, source: str = "public key") -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo); anything else is an ``InputError``."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{source}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{source}: not an Ed25519 public key ({type(key).__name__})")
    return key


def load_private_key_pem(data: bytes, source: str = "signing key") -> Ed25519PrivateKey:
    """An unencrypted Ed25519 PKCS#8 private key from PEM; anything else is an ``InputError``."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{source}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{source}: not an Ed25519 private key ({type(key).__name__})")
    return key


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return public_key.public_bytes(serialization.Encoding.PEM, spki)


def _check_fields(data: dict[str, Any], source: str) -> None:
    for name in FIELDS:
        if name not in data:
            raise InputError(f"{source}: field {name!r} is missing")
    extra = sorted(set(data) - set(FIELDS) - set(OPTIONAL))
    if extra:
        raise InputError(f"{source}: unexpected field {extra[0]!r}")
    seq = data["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise InputError(f"{source}: field 'seq' must be a positive integer")
    if not isinstance(data["hash"], str) or not _HEX64.fullmatch(data["hash"]):
        raise InputError(f"{source}: field 'hash' must be 64 lowercase hex digits")
    if not isinstance(data["ts"], str) or not _is_rfc3339(data["ts"]):
        raise InputError(f"{source}: field 'ts' must be an RFC 3339 UTC timestamp")
    if not isinstance(data["key_id"], str) or not _HEX16.fullmatch(data["key_id"]):
        raise InputError(f"{source}: field 'key_id' must be 16 lowercase hex digits")
    sig = data["signature"]
    try:
        ok = isinstance(sig, str) and len(base64.b64decode(sig, validate=True)) == 64
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise InputError(f"{source}: field 'signature' must be a base64 Ed25519 signature (64 bytes)")
    _check_note(data, source)


def _check_note(data: dict[str, Any], source: str) -> None:
    if "note" in data:
        if not isinstance(data["note"], str):
            raise InputError(f"{source}: field 'note' must be the signed note text")
        try:
            body = notes.parse_checkpoint_body(notes.split_note(data["note"])[0])
        except ValueError as exc:
            raise InputError(f"{source}: field 'note': {exc}") from exc
        if body.size != data["seq"]:
            raise InputError(f"{source}: the note's tree size {body.size} is not the checkpoint's seq {data['seq']}")
    cos = data.get("cosignatures", [])
    if not isinstance(cos, list | tuple) or not all(isinstance(c, str) for c in cos):
        raise InputError(f"{source}: field 'cosignatures' must be a list of note signature lines")
    for line in cos:
        try:
            notes.parse_signature_line(line)
        except ValueError as exc:
            raise InputError(f"{source}: field 'cosignatures': {exc}") from exc


def _is_rfc3339(ts: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})", ts):
        return False
    try:
        datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
