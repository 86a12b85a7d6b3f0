"""A change request's patch and its fingerprint (SPEC §2, §10).

SHA-256 of the sorted patch under a domain tag: sorting lets a trivial rebase keep approvals, while
any change of content or mode changes the fingerprint and so resets them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gatekeeper.errors import InputError
from gatekeeper.ledger.canonical import canon
from gatekeeper.policy.refs import is_null

PATCH_DOMAIN = b"gatekeeper.patch.v1\x00"
NO_MODE = "000000"  # the mode of a file's missing side (added or deleted)
_BLOB = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_MODE = re.compile(r"[0-7]{6}")


@dataclass(frozen=True, order=True)
class FileChange:
    """One entry of a patch: ``(path, old_blob, new_blob, old_mode, new_mode)``; modes ``000000`` if absent."""

    path: str
    old_blob: str
    new_blob: str
    old_mode: str
    new_mode: str

    def __post_init__(self) -> None:
        if not self.path or "\x00" in self.path:
            raise InputError(f"bad path {self.path!r}")
        for b in (self.old_blob, self.new_blob):
            if not _BLOB.fullmatch(b):
                raise InputError(f"{self.path}: bad blob id {b!r}")
        for m in (self.old_mode, self.new_mode):
            if not _MODE.fullmatch(m):
                raise InputError(f"{self.path}: bad mode {m!r} (six octal digits)")

    @property
    def status(self) -> str:
        if is_null(self.old_blob) and self.old_mode == NO_MODE:
            return "added"
        if is_null(self.new_blob) and self.new_mode == NO_MODE:
            return "deleted"
        if self.old_mode[:3] != self.new_mode[:3]:
            return "type-changed"
        return "modified"

    def as_list(self) -> list[str]:
        return [self.path, self.old_blob, self.new_blob, self.old_mode, self.new_mode]


def fingerprint(patch: Iterable[FileChange]) -> str:
    entries = sorted(fc.as_list() for fc in patch)
    return hashlib.sha256(PATCH_DOMAIN + canon(entries)).hexdigest()
