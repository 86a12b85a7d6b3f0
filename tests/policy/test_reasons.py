"""Reason codes (SPEC §12): one list in code, the same table in docs/codes.md, and old sentences mapped once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gatekeeper.ledger import legacy
from gatekeeper.ledger.events import Reason
from gatekeeper.policy.reasons import PRECEDENCE, Code, area, primary

DOC = Path(__file__).parents[2] / "docs" / "codes.md"


def test_docs_list_exactly_the_codes() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", DOC.read_text(), re.MULTILINE))
    assert documented == {c.value for c in Code}


def test_codes_are_area_dot_reason_and_unique() -> None:
    values = [c.value for c in Code]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z]+\.[a-z_]+", v) for v in values)


def test_legacy_wordings_map_to_known_codes() -> None:
    assert {code for code, _ in legacy.WORDINGS} | {legacy.UNCLASSIFIED} <= {c.value for c in Code}


@pytest.mark.parametrize(("sentence", "code"), [
    ("refusing refs/heads/main: x.csv (erp-mapping) lacks 1 approval by finance", "approval.missing"),
    ("refusing refs/heads/main: x.csv (erp-mapping) needs 1 approval by finance: no change request covers it; "
     "open one with …", "gate.unapproved_file"),
    ("refusing refs/heads/main: non-fast-forward update of a protected branch", "gate.non_fast_forward"),
    ("refusing refs/heads/main: carol cannot approve a change they took part in", "sod.self"),
    ("refusing refs/heads/main: alice may not push emergency changes (not in oncall)", "emergency.not_allowed"),
    ("something new", "legacy.unclassified"),
])
def test_old_sentences_read_back_with_their_code(sentence: str, code: str) -> None:
    assert legacy.code_of(sentence) == code == Reason.coerce(sentence).code


def test_a_refusal_is_named_by_its_most_telling_reason() -> None:
    missing = Reason(Code.APPROVAL_MISSING, "lacks 1 approval by leads")
    self_ = Reason(Code.SOD_SELF, "approval by carol does not count: took part in the change (author)")
    assert primary([missing, self_]) == self_
    assert primary([]) is None
    assert area(Code.SOD_SELF) == "sod" and {area(k) for k in PRECEDENCE} <= {area(c) for c in Code} | {
        "emergency", "path", "sod", "format", "ticket"}
