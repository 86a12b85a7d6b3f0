"""Signed notes, checkpoints and cosignatures in the C2SP formats (SPEC §12): pure, standard library only.

- c2sp.org/signed-note: a text ending in a newline, a blank line, then lines
  ``— <key name> base64(4-byte key ID || signature)``; Ed25519 signatures (type 0x01) over the text;
  key ID = SHA-256(name || 0x0A || type || 32-byte public key)[:4]; a verifier key ("vkey") is
  ``<name>+<hex key ID>+base64(type || public key)`` (golang.org/x/mod/sumdb/note).
- c2sp.org/tlog-checkpoint: the text is the origin line (``gatekeeper/<service name>``), the tree
  size in decimal and the base64 RFC 6962 root hash.
- c2sp.org/tlog-cosignature: a witness's Ed25519 cosignature is type 0x04; its signature bytes are
  the 8-byte big-endian POSIX time followed by Ed25519 over ``cosignature/v1\\ntime <t>\\n`` and the
  checkpoint text.

Ed25519 itself comes in as a function (``cryptography`` in the service, ``openssl`` in the
standalone verifier), so this module, copied into ``verify.py``, needs nothing outside the
standard library. Malformed input raises ``ValueError`` naming what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

SIG_ED25519 = 0x01
SIG_COSIGNATURE = 0x04           # tlog-cosignature/v1, Ed25519
NOTE_DASH = "\u2014 "             # em dash and a space start each signature line
MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100
_NAME = re.compile(r"[^\s+]+")

Ed25519Verify = Callable[[bytes, bytes, bytes], bool]   # (32-byte public key, message, signature) -> ok
Ed25519Sign = Callable[[bytes], bytes]                  # message -> 64-byte signature


def note_key_hash(name: str, sig_type: int, public: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public).digest()[:4]


def check_key_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"key name {name!r} must be non-empty without spaces or '+'")
    return name


@dataclass(frozen=True)
class NoteVerifier:
    """One trusted key: name, type (0x01 log key, 0x04 witness cosigner) and 32-byte Ed25519 key."""

    name: str
    sig_type: int
    public: bytes

    @property
    def key_hash(self) -> bytes:
        return note_key_hash(self.name, self.sig_type, self.public)

    def vkey(self) -> str:
        body = base64.b64encode(bytes([self.sig_type]) + self.public).decode("ascii")
        return f"{self.name}+{self.key_hash.hex()}+{body}"


def parse_vkey(text: str) -> NoteVerifier:
    """A verifier key ``name+hash+base64(type||key)``; every part is checked, the hash recomputed."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise ValueError("a note verifier key is <name>+<8 hex digits>+<base64 key>")
    name, hash_hex, body = parts
    check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise ValueError("the key ID of a note verifier key is 8 lowercase hex digits")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key of a note verifier key is not base64") from None
    if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE):
        raise ValueError("a note verifier key must hold an Ed25519 key (type 0x01 or 0x04)")
    v = NoteVerifier(name, raw[0], raw[1:])
    if v.key_hash.hex() != hash_hex:
        raise ValueError(f"note verifier key {name}: the key ID {hash_hex} does not match its key")
    return v


def signature_line(name: str, key_hash: bytes, signature: bytes) -> str:
    return f"{NOTE_DASH}{name} {base64.b64encode(key_hash + signature).decode('ascii')}\n"


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: bytes
    signature: bytes      # what follows the key ID (a cosignature: 8-byte time, then 64 bytes)
    line: str


def split_note(text: str) -> tuple[str, list[NoteSignature]]:
    """The text a note's signatures cover, and its signature lines (checked for form only)."""
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise ValueError("the note is too large")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ValueError("a note holds no control characters but newlines")
    cut = text.rfind("\n\n")
    if cut < 0 or not text.endswith("\n"):
        raise ValueError("a signed note is text, a blank line and signature lines, each ending in a newline")
    body, lines = text[:cut + 1], [line + "\n" for line in text[cut + 2:].split("\n")[:-1]]  # only \n ends a line
    if not lines or len(lines) > MAX_SIGNATURES:
        raise ValueError("a signed note needs 1 to 100 signature lines")
    return body, [parse_signature_line(line) for line in lines]


def parse_signature_line(line: str) -> NoteSignature:
    m = re.fullmatch(r"\u2014 ([^\s+]+) ([A-Za-z0-9+/=]+)\n", line)
    if m is None:
        raise ValueError(f"not a note signature line: {line[:60]!r}")
    try:
        raw = base64.b64decode(m.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a note signature is not base64") from None
    if len(raw) < 5:
        raise ValueError("a note signature is too short")
    return NoteSignature(m.group(1), raw[:4], raw[4:], line)


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The tlog-checkpoint text: origin, tree size, base64 root hash."""
    check_key_name(origin)
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


@dataclass(frozen=True)
class CheckpointBody:
    origin: str
    size: int
    root: bytes


def parse_checkpoint_body(body: str) -> CheckpointBody:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise ValueError("a checkpoint is an origin line, a tree size line and a root hash line")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_text):
        raise ValueError("the checkpoint's tree size is not a decimal number without leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the checkpoint's root hash is not base64") from None
    if len(root) != 32:
        raise ValueError("the checkpoint's root hash is not 32 bytes")
    return CheckpointBody(origin, int(size_text), root)


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a tlog-cosignature/v1 signs: header, time line, then the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n".encode("ascii") + body.encode("utf-8")


def sign_note(body: str, name: str, public: bytes, sign: Ed25519Sign) -> str:
    """The note ``body`` signed by the log key ``name`` (type 0x01)."""
    return body + "\n" + signature_line(name, note_key_hash(name, SIG_ED25519, public), sign(body.encode("utf-8")))


def cosign(body: str, name: str, public: bytes, timestamp: int, sign: Ed25519Sign) -> str:
    """A witness's cosignature line for the checkpoint text ``body``."""
    if not 0 <= timestamp < 1 << 63:
        raise ValueError("a cosignature time must be between 0 and 2^63 - 1")
    sig = sign(cosignature_message(body, timestamp))
    return signature_line(name, note_key_hash(name, SIG_COSIGNATURE, public), timestamp.to_bytes(8, "big") + sig)


@dataclass(frozen=True)
class Verified:
    name: str
    sig_type: int
    timestamp: int | None      # cosignatures: when the witness signed


def verify_signatures(body: str, signatures: Iterable[NoteSignature], verifiers: Sequence[NoteVerifier],
                      ed25519: Ed25519Verify) -> list[Verified]:
    """Check every signature made by a known key (name and key ID both match); ignore the others.

    A known key's signature that does not verify fails the note (``ValueError``), as the signed-note
    spec recommends; the caller decides how many verified signatures it needs.
    """
    known = {(v.name, v.key_hash): v for v in verifiers}
    out: list[Verified] = []
    seen: set[tuple[str, bytes]] = set()
    for s in signatures:
        v = known.get((s.name, s.key_hash))
        if v is None or (s.name, s.key_hash) in seen:
            continue
        seen.add((s.name, s.key_hash))
        if v.sig_type == SIG_COSIGNATURE:
            if len(s.signature) != 72:
                raise ValueError(f"the cosignature of {s.name} is not 8 + 64 bytes")
            ts = int.from_bytes(s.signature[:8], "big")
            ok = ts < 1 << 63 and ed25519(v.public, cosignature_message(body, ts), s.signature[8:])
            verified = Verified(s.name, v.sig_type, ts)
        else:
            ok = len(s.signature) == 64 and ed25519(v.public, body.encode("utf-8"), s.signature)
            verified = Verified(s.name, v.sig_type, None)
        if not ok:
            raise ValueError(f"the signature of {s.name} does not verify (forged or altered)")
        out.append(verified)
    return out


def open_note(text: str, verifiers: Sequence[NoteVerifier], ed25519: Ed25519Verify) -> tuple[str, list[Verified]]:
    """The text of a note with at least one valid signature by a known key, and who signed it."""
    body, signatures = split_note(text)
    verified = verify_signatures(body, signatures, verifiers, ed25519)
    if not verified:
        raise ValueError("the note carries no signature by a trusted key")
    return body, verified
