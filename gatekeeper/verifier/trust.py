"""Whom the verifier trusts, and why (SPEC §12): the keys and witnesses the auditor pinned, the chain
of key rotations in the log, and Ed25519 by the ``openssl`` command. Standard library only.

The pack carries its own public key, so its signatures alone prove nothing about who made it: a
forger re-signs a rewritten log with a fresh key. The origin is pinned only by something the
auditor holds from outside the pack: a key id (``--key-id``, ``key <id>`` in ``--trust``), which
must be the pack's signing key or lead to it through ``key.rotated`` entries, each signed by the
key before; and witnesses (``witness <name> <vkey>``), independent services that cosign a
checkpoint only after checking it is consistent with every one they cosigned before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.ledger.note import SIG_COSIGNATURE, NoteVerifier, parse_vkey
from gatekeeper.verifier.logread import Failed

# DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it.
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
KEY_ROTATION_DOMAIN = b"gatekeeper.key-rotation.v1\x00"
HEX16 = re.compile(r"[0-9a-f]{16}")


def key_id_of(raw: bytes) -> str:
    """First 16 hex digits of SHA-256 of the raw 32-byte public key (SPEC §10)."""
    return hashlib.sha256(raw).hexdigest()[:16]


def pem_public_key(text: str, where: str) -> bytes:
    """The raw 32-byte Ed25519 key of a PEM SubjectPublicKeyInfo."""
    m = re.search(r"-----BEGIN PUBLIC KEY-----(.+?)-----END PUBLIC KEY-----", text, re.S)
    if m is None:
        raise Failed(f"{where}: no PEM public key in it")
    try:
        der = base64.b64decode("".join(m.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        raise Failed(f"{where}: the PEM body is not base64") from None
    if len(der) != 44 or not der.startswith(ED25519_SPKI):
        raise Failed(f"{where}: not an Ed25519 public key")
    return der[12:]


def pem_of(raw: bytes) -> str:
    body = base64.b64encode(ED25519_SPKI + raw).decode("ascii")
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


def rotation_message(old_key_id: str, new_key_id: str, new_public_key: str) -> bytes:
    """What the old key signs in a ``key.rotated`` entry."""
    return KEY_ROTATION_DOMAIN + canon({"old_key_id": old_key_id, "new_key_id": new_key_id,
                                        "new_public_key": new_public_key})


def openssl_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Ed25519 by `openssl pkeyutl -verify -pubin -rawin` (OpenSSL 3): no Python package needed."""
    if len(signature) != 64 or len(public) != 32:
        return False
    with tempfile.TemporaryDirectory(prefix="gatekeeper-verify-") as tmp:
        paths = {name: os.path.join(tmp, name) for name in ("key.pem", "message", "signature")}
        for name, data in (("key.pem", pem_of(public).encode()), ("message", message), ("signature", signature)):
            with open(paths[name], "wb") as fh:
                fh.write(data)
        try:
            proc = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths["key.pem"], "-rawin",
                                   "-in", paths["message"], "-sigfile", paths["signature"]],
                                  capture_output=True, text=True, check=False, timeout=60)
        except FileNotFoundError:
            raise Failed("the `openssl` command was not found: install OpenSSL 3 to check signatures") from None
    if proc.returncode == 0 and "Signature Verified Successfully" in proc.stdout:
        return True
    problem = (proc.stderr or proc.stdout).strip().splitlines()
    if problem and "Signature Verification Failure" not in problem[0] and "pkeyutl" in problem[0]:
        raise Failed(f"openssl could not check a signature ({problem[0]}); OpenSSL 3 is needed")
    return False


@dataclass
class Trust:
    """What the auditor pinned: key ids, witness keys and how many witnesses must have cosigned."""

    key_ids: set[str] = field(default_factory=set)
    witnesses: list[NoteVerifier] = field(default_factory=list)
    min_witnesses: int = 0

    @property
    def pinned(self) -> bool:
        return bool(self.key_ids)


def read_trust(text: str, where: str) -> Trust:
    """``--trust FILE``: lines ``key <key_id>``, ``witness <name> <vkey>``, ``min-witnesses N``; ``#``
    starts a comment. Anything else is refused, so a typo cannot silently trust nothing."""
    trust = Trust()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "key" and len(words) == 2 and HEX16.fullmatch(words[1].lower()):
            trust.key_ids.add(words[1].lower())
        elif words[0] == "witness" and len(words) == 3:
            try:
                v = parse_vkey(words[2])
            except ValueError as exc:
                raise Failed(f"{where} line {n}: {exc}") from None
            if v.sig_type != SIG_COSIGNATURE or v.name != words[1]:
                raise Failed(f"{where} line {n}: witness {words[1]}: the key must be that witness's cosignature "
                             "key (type 0x04, named like the witness)")
            trust.witnesses.append(v)
        elif words[0] == "min-witnesses" and len(words) == 2 and words[1].isdecimal():
            trust.min_witnesses = int(words[1])
        else:
            raise Failed(f"{where} line {n}: expected `key <16 hex digits>`, `witness <name> <vkey>` or "
                         "`min-witnesses N`")
    if trust.min_witnesses > len(trust.witnesses):
        raise Failed(f"{where}: min-witnesses {trust.min_witnesses} but only {len(trust.witnesses)} witness key(s)")
    return trust


def key_chain(keys: list[tuple[int, str, Any]], pack_key: bytes) -> tuple[dict[str, bytes], list[tuple[int, str, str]]]:
    """The public keys the log names (by key id) and its rotations ``(seq, old id, new id)``, each
    rotation's signature checked with the old key (a rotation nobody can check fails the pack)."""
    known = {key_id_of(pack_key): pack_key}
    rotations: list[tuple[int, str, str]] = []
    for seq, kind, p in keys:
        where = f"log.jsonl seq {seq} ({kind})"
        if not isinstance(p, dict):
            raise Failed(f"{where}: payload is not an object")
        if kind == "key.created":
            if isinstance(p.get("public_key"), str):
                raw = pem_public_key(p["public_key"], where)
                if key_id_of(raw) != p.get("key_id"):
                    raise Failed(f"{where}: key_id {p.get('key_id')} is not the id of its public key")
                known[key_id_of(raw)] = raw
            continue
        fields = [p.get(k) for k in ("old_key_id", "new_key_id", "new_public_key", "signature")]
        if not all(isinstance(v, str) for v in fields):
            raise Failed(f"{where}: old_key_id, new_key_id, new_public_key and signature are required")
        old, new, pem, sig = (str(v) for v in fields)
        raw = pem_public_key(pem, where)
        if key_id_of(raw) != new:
            raise Failed(f"{where}: new_key_id {new} is not the id of new_public_key")
        if isinstance(p.get("old_public_key"), str):  # the signing key, identified by its id (a hash of it)
            old_raw = pem_public_key(p["old_public_key"], where)
            if key_id_of(old_raw) != old:
                raise Failed(f"{where}: old_key_id {old} is not the id of old_public_key")
            known.setdefault(old, old_raw)
        if old not in known:
            raise Failed(f"{where}: the old key {old} is not in the log, so its signature cannot be checked")
        try:
            signature = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            raise Failed(f"{where}: the signature is not base64") from None
        if not openssl_verify(known[old], rotation_message(old, new, pem), signature):
            raise Failed(f"{where}: the rotation is not signed by the old key {old} (forged)")
        known[new] = raw
        rotations.append((seq, old, new))
    return known, rotations


def follows(pinned: set[str], signer: str, rotations: list[tuple[int, str, str]]) -> list[str] | None:
    """The chain of key ids from a pinned key to the pack's signing key, or None if there is none."""
    for start in sorted(pinned):
        chain, current = [start], start
        for _seq, old, new in rotations:
            if old == current:
                current = new
                chain.append(new)
        if current == signer:
            return chain
    return None
