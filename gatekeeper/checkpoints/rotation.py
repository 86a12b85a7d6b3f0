"""Rotating the checkpoint signing key (SPEC §12): the old key vouches for the new one in the log.

``key.rotated`` holds the new public key and the old key's Ed25519 signature over
``verifier.trust.rotation_message`` (the very function the standalone verifier checks it with). The
new key is written beside the old one first (mode 0600), the entry is logged, then the files are
swapped: the old key stays as ``<name>.<old key id>.pem`` for checking old checkpoints, never deleted.
"""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.checkpoints.keys import LOGGED_KEY_SETTING, load_private_key, public_key_path, write_public_key
from gatekeeper.errors import InputError
from gatekeeper.ledger import events
from gatekeeper.ledger.checkpoint import key_id, public_key_pem
from gatekeeper.store import log
from gatekeeper.store.tables import Setting
from gatekeeper.verifier.trust import rotation_message


def rotate_key(config: Any, store: Any) -> tuple[str, str, int]:
    """Rotate ``service.signing_key``; returns (old key id, new key id, seq of key.rotated)."""
    path = Path(config.service.signing_key)
    if not path.exists():
        raise InputError(f"no signing key at {path}: nothing to rotate (create one with `gatekeeper keys generate`)")
    old = load_private_key(path)
    new = Ed25519PrivateKey.generate()
    old_id, new_id = key_id(old.public_key()), key_id(new.public_key())
    pem = public_key_pem(new.public_key()).decode("ascii")
    staged = path.with_name(f".{path.name}.{new_id}.new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(new.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        event = events.KeyRotated(old_key_id=old_id, new_key_id=new_id, new_public_key=pem,
                                  old_public_key=public_key_pem(old.public_key()).decode("ascii"),
                                  signature=base64.b64encode(old.sign(rotation_message(old_id, new_id, pem))).decode())
        with store.write() as session:
            entry = log.append(session, event)
            setting = session.get(Setting, LOGGED_KEY_SETTING)
            if setting is None:
                session.add(Setting(key=LOGGED_KEY_SETTING, value=new_id))
            else:
                setting.value = new_id
        retired = path.with_name(f"{path.name.removesuffix('.pem')}.{old_id}.pem")
        os.link(path, retired)
        os.replace(staged, path)
        write_public_key(new.public_key(), public_key_path(path))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)
    return old_id, new_id, entry.seq
