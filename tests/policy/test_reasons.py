"""Reason codes (SPEC §12): one list in code, the same table in docs/codes.md, and old sentences mapped once."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.ledger.events import Reason
from gatekeeper.policy.reasons import PRECEDENCE, Code, area, primary

DOC = Path(__file__).parents[2] / "docs" / "codes.md"


def test_a_refusal_is_named_by_its_most_telling_reason() -> None:
    missing = Reason(Code.APPROVAL_MISSING, "lacks 1 approval by leads")
    self_ = Reason(Code.SOD_SELF, "approval by carol does not count: took part in the change (author)")
    assert primary([missing, self_]) == self_
    assert primary([]) is None
    assert area(Code.SOD_SELF) == "sod" and {area(k) for k in PRECEDENCE} <= {area(c) for c in Code} | {
        "emergency", "path", "sod", "format", "ticket"}
