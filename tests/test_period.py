"""gatekeeper.period: --from/--to as whole UTC days (inclusive) or RFC 3339 instants (SPEC §10)."""

from __future__ import annotations

import pytest

from gatekeeper.errors import InputError
from gatekeeper.period import MAX_TS, MIN_TS, in_period, parse_period


@pytest.mark.parametrize(("from_", "to", "expected"), [
    ("2024-05-01", "2024-05-31", ("2024-05-01T00:00:00.000000Z", "2024-06-01T00:00:00.000000Z")),
    ("2024-05-01", "2024-05-01", ("2024-05-01T00:00:00.000000Z", "2024-05-02T00:00:00.000000Z")),
    ("2024-05-01T10:00:00+02:00", "2024-05-01T12:00:00Z",
     ("2024-05-01T08:00:00.000000Z", "2024-05-01T12:00:00.000001Z")),
    ("2024-05-01T08:00:00.1234567Z", None, ("2024-05-01T08:00:00.123456Z", MAX_TS)),
    (None, "2024-12-31", (MIN_TS, "2025-01-01T00:00:00.000000Z")),
    (None, None, (MIN_TS, MAX_TS)),
])
def test_parse_period(from_: str | None, to: str | None, expected: tuple[str, str]) -> None:
    assert parse_period(from_, to) == expected


def test_whole_day_is_inclusive() -> None:
    start, end = parse_period("2024-05-01", "2024-05-01")
    assert in_period("2024-05-01T00:00:00.000000Z", start, end)
    assert in_period("2024-05-01T23:59:59.999999Z", start, end)
    assert not in_period("2024-05-02T00:00:00.000000Z", start, end)
    assert not in_period("2024-04-30T23:59:59.999999Z", start, end)


@pytest.mark.parametrize(("from_", "to", "message"), [
    ("2024-02-30", None, "--from '2024-02-30': not a valid date"),
    ("May 1st", None, "--from 'May 1st': expected YYYY-MM-DD"),
    (None, "2024-05-01T08:00:00", "--to '2024-05-01T08:00:00': expected .* time zone"),
    ("2024-05-02", "2024-05-01", "--from 2024-05-02 is after --to 2024-05-01: the period would be empty"),
])
def test_bad_periods_name_the_option(from_: str | None, to: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_period(from_, to)
