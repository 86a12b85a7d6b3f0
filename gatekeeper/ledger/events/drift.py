"""Log kinds of drift detection (SPEC §11): every check, and each change of a source's state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from gatekeeper.ledger.events.base import Event

DRIFT_CHECKED = "drift.checked"
DRIFT_DETECTED = "drift.detected"
DRIFT_CLEARED = "drift.cleared"
DRIFT_ERROR = "drift.error"


@dataclass(frozen=True)
class _Source(Event):
    source: str = ""
    repo: str = ""
    path: str = ""


@dataclass(frozen=True)
class DriftChecked(_Source):
    KIND: ClassVar[str] = DRIFT_CHECKED
    format: str = ""
    live_sha256: str = ""
    result: str = ""                 # "in line" | "drift" | "error"
    summary: str = ""
    expected_commit: str | None = None
    trigger: str = ""


@dataclass(frozen=True)
class DriftDetected(_Source):
    KIND: ClassVar[str] = DRIFT_DETECTED
    live_sha256: str = ""
    expected_commit: str | None = None
    summary: str = ""
    matches_change: int | None = None    # an approved, not yet deployed CR whose content the plant runs
    text: str = ""
    diff: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class DriftCleared(_Source):
    KIND: ClassVar[str] = DRIFT_CLEARED
    live_sha256: str = ""
    expected_commit: str | None = None
    was: str = ""
    since: str | None = None
    previous: str = ""


@dataclass(frozen=True)
class DriftError(_Source):
    KIND: ClassVar[str] = DRIFT_ERROR
    error: str = ""
