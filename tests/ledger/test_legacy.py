"""Codes for reasons logged before codes existed (``ledger.legacy``): old sentences mapped once."""

from __future__ import annotations

import pytest

from gatekeeper.ledger import legacy
from gatekeeper.ledger.events import Reason
from gatekeeper.policy.reasons import Code


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


def test_stored_findings_without_a_code_get_one_and_coded_ones_are_kept() -> None:
    assert legacy.with_code({"path": "a.csv", "message": "malformed path 'a//b'"})["code"] == "path.malformed"
    assert legacy.with_code({"path": "a.xml", "message": "line 3: not well-formed"})["code"] == "format.invalid"
    coded = {"path": "a.csv", "message": "anything", "code": "format.too_large"}
    assert legacy.with_code(coded) is coded
