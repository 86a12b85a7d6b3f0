"""Log kinds of the access review (SPEC §12 "Access review", issue 24): daily snapshots of who holds
which right, review campaigns, each decision and the reviewer's signature."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatekeeper.ledger.events.base import Event, Record

ACCESS_SNAPSHOT = "access.snapshot"
ACCESS_REVIEW_OPENED = "access.review_opened"
ACCESS_DECIDED = "access.decided"
ACCESS_REVIEW_SIGNED = "access.review_signed"


@dataclass(frozen=True)
class Revocation(Record):
    """A right a signed access review revoked, as the next snapshots check it (``access-revocation-open``)."""

    review_id: int = 0
    row: int = 0                   # the row's position in its campaign
    decided_seq: int = 0           # the ``access.decided`` entry that revoked it
    username: str = ""
    right: str = ""
    repo: str = ""
    category: str = ""
    group: str = ""


@dataclass(frozen=True)
class AccessSnapshot(Event):
    """The resolved rights of one day, as a diff against the previous snapshot plus the SHA-256 of the
    whole set (``policy.access.rights_hash``), so every set is recomputable from the log alone."""

    KIND: ClassVar[str] = ACCESS_SNAPSHOT
    day: str = ""                              # the UTC day it stands for (one snapshot a day)
    previous_seq: int | None = None            # the snapshot it is a diff against (None: the first)
    rights_sha256: str = ""
    count: int = 0                             # rights held after this snapshot
    gained: tuple[tuple[Any, ...], ...] = ()   # ``Right.to_list()`` items
    lost: tuple[tuple[Any, ...], ...] = ()
    changed: tuple[tuple[Any, ...], ...] = ()  # same key, new name / via / disabled
    summary: Mapping[str, Any] = field(default_factory=dict)   # ``policy.access.summary``
    revocations_open: tuple[Revocation, ...] = ()
    revocations_closed: tuple[Revocation, ...] = ()
    directory: str = ""


@dataclass(frozen=True)
class AccessReviewOpened(Event):
    KIND: ClassVar[str] = ACCESS_REVIEW_OPENED
    review_id: int = 0
    repo: str = ""                  # "" = every repo
    rows: int = 0
    rows_sha256: str = ""           # ``policy.access.rows_hash`` of the rows under review
    summary: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""                  # the reviewer's name as the directory spells it


@dataclass(frozen=True)
class AccessDecided(Event):
    KIND: ClassVar[str] = ACCESS_DECIDED
    review_id: int = 0
    row: int = 0                    # position in the campaign, 1..rows
    columns: Mapping[str, Any] = field(default_factory=dict)  # the row as reviewed (``Row.to_dict``)
    decision: str = ""              # keep | revoke
    comment: str = ""
    name: str = ""


@dataclass(frozen=True)
class AccessReviewSigned(Event):
    KIND: ClassVar[str] = ACCESS_REVIEW_SIGNED
    review_id: int = 0
    repo: str = ""
    rows: int = 0
    kept: int = 0
    revoked: int = 0
    rows_sha256: str = ""
    decisions_sha256: str = ""      # over the sorted [row, decision, decided_seq] of every row
    meaning: str = ""
    comment: str = ""
    signer: str = ""
    name: str = ""
    signer_dn: str | None = None
    memberships: tuple[Mapping[str, Any], ...] = ()   # the groups that made the signer an access reviewer
    revocations: tuple[Revocation, ...] = ()          # work for the directory's owners
