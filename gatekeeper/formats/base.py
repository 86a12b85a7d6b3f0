"""Values every format module returns (pure: no I/O).

A format module turns file bytes into findings (validation) and semantic changes (diff) that an
approver can read ("setpoint TT-101.high 85.0 → 90.0 °C") instead of raw XML or JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gatekeeper.policy.codes import Code

Severity = Literal["error", "warning"]


FORMAT_INVALID = Code.FORMAT_INVALID
"""The reason code of a format's finding whose rule names no more telling one (docs/codes.md)."""


@dataclass(frozen=True)
class Finding:
    """One validation result; ``location`` is ``line N`` or a JSON path such as ``$.tags[3].name``;
    ``code`` is its reason code (SPEC §12): ``format.invalid``, or the format's own where the rule
    knows what is wrong (``kepware.bad_address``; docs/codes.md)."""

    path: str
    location: str
    severity: Severity
    message: str
    code: str = FORMAT_INVALID

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "location": self.location, "severity": self.severity, "code": self.code,
                "message": self.message}


@dataclass(frozen=True)
class SemanticChange:
    """One element added, removed, changed or moved, with old → new values and units.

    ``text`` is the sentence shown to approvers; ``financial`` marks changes to quantities, units,
    conversion factors or ERP targets (SPEC: financial categories flag these).
    """

    kind: Literal["added", "removed", "changed", "moved"]
    element: str
    text: str
    old: str | None = None
    new: str | None = None
    financial: bool = False
    diff: str | None = None
    """A unified line diff shown under the sentence (ST/IL code), already capped; ``None``: none."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "element": self.element, "text": self.text, "old": self.old,
                               "new": self.new, "financial": self.financial}
        if self.diff is not None:
            out["diff"] = self.diff
        return out


ICONS: dict[str, str] = {"added": "+", "removed": "−", "changed": "~", "moved": "↦"}
"""The mark each kind of change is drawn with, on the change page and in ``gatekeeper diff``."""


@dataclass(frozen=True)
class TagInfo:
    """What the repo's tag configurations say about one tag path, for the posting rules.

    ``systems``: the OT systems whose configuration defines it (``ignition``, ``kepware``);
    ``data_type`` and ``eng_unit``: as configured ('' where the configuration does not say).
    """

    systems: frozenset[str]
    data_type: str = ""
    eng_unit: str = ""


@dataclass(frozen=True)
class Context:
    """Facts from the rest of the repo at the pushed commit, for cross-file checks.

    ``tag_paths`` is the set of tag paths defined by the repo's tag configurations (Ignition,
    Kepware); ``None`` means the caller could not provide it. ``tags`` adds, per path, the
    defining system, data type and engineering unit (``None``: not provided, those rules skipped).
    """

    tag_paths: frozenset[str] | None = None
    tags: Mapping[str, TagInfo] | None = None
    drivers: Mapping[str, str] | None = None
    """Kepware Project Maker tag CSV path (normalised) → the driver of the channel naming it."""


@dataclass(frozen=True)
class Analysis:
    findings: tuple[Finding, ...] = ()
    changes: tuple[SemanticChange, ...] = field(default_factory=tuple)
