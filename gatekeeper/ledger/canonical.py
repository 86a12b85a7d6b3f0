"""Canonical JSON (SPEC §10): sorted keys, separators ``,`` and ``:``, no ASCII escaping, UTF-8.

Writer, verifier and fingerprint share this one function so that a hash computed anywhere is the
hash computed everywhere.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.ledger.jsoncodec import canon

__all__ = ["canon", "require_fields"]


def require_fields(data: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    """Exactly these fields, no more and no fewer: what is hashed or signed must be all there is."""
    from gatekeeper.errors import InputError

    for name in fields:
        if name not in data:
            raise InputError(f"{where}: field {name!r} is missing")
    extra = sorted(set(data) - set(fields))
    if extra:
        raise InputError(f"{where}: unexpected field {extra[0]!r}")
