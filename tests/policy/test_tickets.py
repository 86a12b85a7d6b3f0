"""The change-ticket rule (SPEC §11): required/optional per category, the pattern matches the whole id."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gatekeeper.policy.tickets import TICKET_PATH, check, choose, state_allowed


@dataclass(frozen=True)
class Cat:
    name: str
    ticket: str = "optional"
    ticket_pattern: str | None = None


SNOW = Cat("recipes", "required", r"^CHG[0-9]{7}$")
LOOSE = Cat("docs")


@pytest.mark.parametrize(("ticket", "cats", "expected"), [
    ("CHG0001234", [SNOW], []),
    ("", [LOOSE], []),
    ("anything", [LOOSE], []),
    ("", [SNOW], ["a change ticket is required by recipes"]),
    ("   ", [SNOW, Cat("plc", "required")], ["a change ticket is required by plc, recipes"]),
    ("CHG0001234x", [SNOW], ["does not match the pattern"]),          # fullmatch: no trailing junk
    ("xCHG0001234", [Cat("r", "required", "CHG[0-9]{7}")], ["does not match"]),  # no leading junk either
    ("CHG123", [SNOW], ["does not match"]),
    ("CHG0001234\nCHG0001235", [SNOW], ["single line"]),
    ("CHG0001234", [SNOW, Cat("erp", "optional", r"FIN-\d+")], ["does not match the pattern FIN-\\d+ of erp"]),
    ("", [Cat("erp", "optional", r"FIN-\d+")], []),                    # optional and absent: fine
])
def test_check(ticket: str, cats: list[Cat], expected: list[str]) -> None:
    found = check(ticket, cats)
    assert len(found) == len(expected)
    for f, text in zip(found, expected, strict=True):
        assert text in f.message
        assert f.to_dict()["path"] == TICKET_PATH and f.to_dict()["severity"] == "error"


def test_the_push_option_wins_over_trailers() -> None:
    assert choose("CHG0000001", ["CHG0000002"]) == "CHG0000001"
    assert choose(None, ["", " CHG0000002 ", "CHG0000003"]) == "CHG0000002"
    assert choose("  ", []) == ""


@pytest.mark.parametrize(("state", "ok"), [("Scheduled", True), (" implement ", True), ("New", False),
                                           ("", False), (None, False)])
def test_state_allowed(state: str | None, ok: bool) -> None:
    assert state_allowed(state, ["Scheduled", "Implement"]) is ok
