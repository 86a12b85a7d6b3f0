"""The checkpoint signing key on disk (SPEC §10): Ed25519 PKCS#8 PEM, mode 0600, ``<name>.pub.pem`` beside.

The private key never enters the database, so a database administrator cannot sign a checkpoint
for a rewritten log. ``ensure_key`` is what the app factory (``serve``, ``demo``, gunicorn) calls at start.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gatekeeper.errors import InputError
from gatekeeper.ledger.checkpoint import key_id, load_private_key_pem, load_public_key_pem, public_key_pem
from gatekeeper.ledger.events import KeyCreated
from gatekeeper.store import log as ledger_log
from gatekeeper.store.tables import Setting

log = logging.getLogger(__name__)

# Setting row naming the key whose ``key.created`` entry is in the log (one entry per key).
LOGGED_KEY_SETTING = "ledger_signing_key_id"


def public_key_path(private_path: Path) -> Path:
    """``var/ledger-signing-key.pem`` → ``var/ledger-signing-key.pub.pem``."""
    name = private_path.name.removesuffix(".pem")
    return private_path.with_name(f"{name}.pub.pem")


def generate_key(path: Path) -> Ed25519PrivateKey:
    """Create a new key at ``path`` (never overwriting one) and its public key beside it.

    The private file is written under a temporary name with mode 0600 and hard-linked into place,
    so it is never visible half-written or readable by others, and two processes racing to create
    it cannot both win (the loser gets ``FileExistsError``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)  # umask cannot widen it, but be explicit
        os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    write_public_key(key.public_key(), public_key_path(path))
    return key


def write_public_key(public_key: Ed25519PublicKey, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(public_key_pem(public_key))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the signing key {path}: {exc.strerror or exc}") from exc
    return load_private_key_pem(data, str(path))


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from its PEM file; a private key file is accepted too (its public half is used)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the public key {path}: {exc.strerror or exc}") from exc
    if b"PRIVATE KEY" in data:
        return load_private_key_pem(data, str(path)).public_key()
    return load_public_key_pem(data, str(path))


def require_private_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path`` for something that must sign now (a checkpoint, an evidence pack)."""
    if not path.exists():
        raise InputError(f"no signing key at {path}: create it with `gatekeeper keys generate` "
                         "(or start `gatekeeper serve`, which creates it)")
    return load_private_key(path)


def configured_public_key(private: Path) -> Ed25519PublicKey | None:
    """The public half of the key at ``private``: its ``.pub.pem``, else the key itself; None if neither."""
    for path in (public_key_path(private), private):
        if path.exists():
            return load_public_key(path)
    return None


def ensure_key(config: Any, store: Any) -> Ed25519PrivateKey:
    """Load ``service.signing_key``, creating it when missing; log ``key.created`` once per key.

    A key made earlier with ``gatekeeper keys generate`` is logged the first time the service sees
    it, so every key that ever signed a checkpoint has its ``key_id`` and public key in the log.
    """
    path = Path(config.service.signing_key)
    created = False
    if path.exists():
        key = load_private_key(path)
    else:
        try:
            key = generate_key(path)
            created = True
        except FileExistsError:  # another worker made it first
            key = load_private_key(path)
    public = key.public_key()
    kid = key_id(public)
    if not public_key_path(path).exists():
        write_public_key(public, public_key_path(path))
    with store.write() as session:
        logged = session.get(Setting, LOGGED_KEY_SETTING)
        if logged is not None and logged.value == kid:
            return key
        ledger_log.append(session, KeyCreated(key_id=kid, algorithm="Ed25519", created_now=created,
                                              public_key=public_key_pem(public).decode("ascii")))
        if logged is None:
            session.add(Setting(key=LOGGED_KEY_SETTING, value=kid))
        else:
            logged.value = kid
    log.info("ledger signing key %s (%s)", kid, "created" if created else "loaded")
    return key
