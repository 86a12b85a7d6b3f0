"""Log kinds of the evidence trail itself (SPEC §12, issue 21): what an export reconciled and
exported, key rotations, witnesses' refusals.

- ``audit.reconciled``: what reconciliation against git found while a pack was built (facts the log
  cannot derive by itself), logged so the pack's exceptions are still a function of the signed log;
- ``audit.exported``: a pack was exported; the pack's log ends with it and its checkpoint covers it;
- ``key.rotated``: the checkpoint signing key was replaced, signed by the old key;
- ``witness.refused``: a witness did not cosign a checkpoint (shown to the admins on /audit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from gatekeeper.ledger.events.base import Event

AUDIT_RECONCILED = "audit.reconciled"
AUDIT_EXPORTED = "audit.exported"
KEY_ROTATED = "key.rotated"
WITNESS_REFUSED = "witness.refused"


@dataclass(frozen=True)
class _Period(Event):
    """Events with a period: the field ``from_`` is the payload key ``from`` (a Python keyword)."""

    def to_payload(self) -> dict[str, Any]:
        out = super().to_payload()
        out["from"] = out.pop("from_")
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        data = dict(payload)
        if "from" in data:
            data["from_"] = data.pop("from")
        return super().from_payload(data)


@dataclass(frozen=True)
class AuditReconciled(_Period):
    """What reconciliation against git found when a pack was built (issue 21): facts the log cannot
    derive by itself, logged so the pack's ``exceptions.csv`` is still a function of the signed log."""

    KIND: ClassVar[str] = AUDIT_RECONCILED
    from_: str = ""                               # logged as "from": the period [from, to), UTC
    to: str = ""
    rows: tuple[Mapping[str, Any], ...] = ()      # exceptions.csv rows: reconcile-gap, hook-drift
    lines: tuple[str, ...] = ()                   # the per-branch summary (verification.txt, report.html)


@dataclass(frozen=True)
class AuditExported(_Period):
    """An evidence pack was exported (SPEC §12): the period, filters, the log it was derived from and
    the SHA-256 of every file derived from it. The pack's log ends with this entry and its checkpoint
    covers it, so the tables are bound to the signed log."""

    KIND: ClassVar[str] = AUDIT_EXPORTED
    from_: str = ""                               # logged as "from": the period [from, to), UTC
    to: str = ""
    filters: Mapping[str, Any] = field(default_factory=dict)
    upto: int = 0                                 # the tables are the projection of log seqs 1..upto
    now: str = ""                                 # the instant "overdue" was judged at
    reconciled_seq: int | None = None             # the audit.reconciled entry the exceptions include
    files: Mapping[str, str] = field(default_factory=dict)   # file name -> SHA-256
    verifier_sha256: str = ""                     # the verify.py copied into the pack


@dataclass(frozen=True)
class KeyRotated(Event):
    """The checkpoint signing key was replaced (issue 21): signed by the OLD key, so a verifier that
    pins the old key id follows the chain to the new one (``ledger.keychain``)."""

    KIND: ClassVar[str] = KEY_ROTATED
    old_key_id: str = ""
    new_key_id: str = ""
    old_public_key: str = ""                      # PEM: the key that signs this rotation
    new_public_key: str = ""                      # PEM (SubjectPublicKeyInfo)
    signature: str = ""                           # base64 Ed25519 by the old key (ledger.keychain.message)


@dataclass(frozen=True)
class WitnessRefused(Event):
    """A witness did not cosign a checkpoint (SPEC §12): shown to the service's admins on /audit."""

    KIND: ClassVar[str] = WITNESS_REFUSED
    witness: str = ""
    url: str = ""
    size: int = 0                                 # the checkpoint's tree size
    status: int | None = None                     # the HTTP status (None: unreachable)
    reason: str = ""
