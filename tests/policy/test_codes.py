"""Reason codes (``policy.codes``): one list in code, the same table in docs/codes.md, one precedence."""

from __future__ import annotations

import re
from pathlib import Path

from gatekeeper.policy.codes import PRECEDENCE, Code, area, code_rank, primary_code

DOC = Path(__file__).parents[2] / "docs" / "codes.md"


def test_docs_list_exactly_the_codes() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", DOC.read_text(), re.MULTILINE))
    assert documented == {c.value for c in Code}


def test_codes_are_area_dot_reason_and_unique() -> None:
    values = [c.value for c in Code]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z]+\.[a-z_]+", v) for v in values)


def test_a_refusal_is_named_by_the_first_code_in_precedence_by_code_or_area() -> None:
    assert primary_code(["approval.missing", "sod.self", "gate.overlap"]) == "sod.self"  # by area
    assert primary_code(["gate.overlap", "gate.no_pusher"]) == "gate.no_pusher"      # by code
    assert primary_code(["legacy.unclassified", "ticket.missing"]) == "ticket.missing"
    assert primary_code([]) is None
    assert code_rank("legacy.unclassified") == code_rank("made.up") == len(PRECEDENCE)  # unlisted: last
    assert area(Code.TICKET_PATTERN) == "ticket"
