"""``--from``/``--to`` periods (SPEC §10): ``YYYY-MM-DD`` is a whole UTC day, both ends inclusive;
an RFC 3339 timestamp is that instant.

Bounds come back as half-open ``[start, end)`` strings in the stored timestamp format
(``YYYY-MM-DDTHH:MM:SS.ffffffZ``, see ``store.log.utc_now``), so SQL can compare them as text. A
missing bound is open: ``MIN_TS`` or ``MAX_TS``. Pure: no I/O.

This is the one parser of every date and period parameter, in the API, the pages and the CLI
(issue 22): a value that is malformed, holds anything but the date (a newline, a space), or lies
outside ``FIRST_DAY``..``LAST_DAY`` is an ``InputError`` (400 / exit 2) naming the parameter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from gatekeeper.errors import InputError

TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MIN_TS = "0000-01-01T00:00:00.000000Z"
MAX_TS = "9999-12-31T23:59:59.999999Z"

FIRST_DAY, LAST_DAY = "1970-01-01", "2999-12-31"  # what a change record can hold; the rest is a typo
_FIRST = datetime(1970, 1, 1, tzinfo=UTC)
_AFTER_LAST = datetime(3000, 1, 1, tzinfo=UTC)
_LONGEST = 40  # longer than any date or RFC 3339 timestamp: not worth quoting back in full

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# RFC 3339 section 5.6: date "T" time, optional fraction, then "Z" or a numeric offset (required).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)


class PeriodError(InputError):
    """A date or period parameter that cannot be used. ``param`` names it as the caller spells it
    (``--from``, ``to``), ``value`` is what was given and ``problem`` one of ``PROBLEMS``, so a page
    can say the same in its reader's language."""

    def __init__(self, message: str, param: str, value: str, problem: str) -> None:
        super().__init__(message)
        self.param, self.value, self.problem = param, value, problem


PROBLEMS = ("malformed", "no_such_day", "out_of_range", "empty")


def parse_instant(value: str, option: str = "--from") -> tuple[datetime, bool]:
    """``(instant in UTC, is_whole_day)``; a bad value is an ``InputError`` naming the option."""
    shown = _shown(value)
    if _DATE.fullmatch(value):
        try:
            instant = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as exc:  # 2026-13-01, 2026-02-30: the shape is right, the day does not exist
            raise PeriodError(f"{option} {shown}: not a valid date (there is no such day); expected "
                              "YYYY-MM-DD, for example 2026-05-01", option, value, "no_such_day") from exc
        return _in_range(instant, option, value), True
    if len(value) > _LONGEST or not _RFC3339.fullmatch(value):
        raise PeriodError(f"{option} {shown}: expected YYYY-MM-DD or an RFC 3339 timestamp with a time zone "
                          "(e.g. 2024-05-01T08:00:00Z)", option, value, "malformed")
    text = value
    frac = re.search(r"\.(\d+)", text)
    if frac and len(frac.group(1)) > 6:  # datetime keeps microseconds; finer digits are cut, not rounded
        text = text.replace(frac.group(0), "." + frac.group(1)[:6])
    try:
        instant = datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(" ", "T")).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise PeriodError(f"{option} {shown}: not a valid timestamp (there is no such time); expected "
                          "YYYY-MM-DD or an RFC 3339 timestamp such as 2024-05-01T08:00:00Z", option, value,
                          "no_such_day") from exc
    return _in_range(instant, option, value), False


def _in_range(instant: datetime, option: str, value: str) -> datetime:
    if not _FIRST <= instant <= _AFTER_LAST:  # the end bound of LAST_DAY itself reads back (report.period_text)
        raise PeriodError(f"{option} {_shown(value)}: out of range; a date from {FIRST_DAY} to {LAST_DAY}", option,
                          value, "out_of_range")
    return instant


def _shown(value: str) -> str:
    """The value as messages quote it: ``repr`` (control characters escaped), long ones cut."""
    return repr(value) if len(value) <= _LONGEST else repr(value[:_LONGEST]) + "…"


def format_ts(instant: datetime) -> str:
    """The stored timestamp format, so bounds and ``ts`` columns compare correctly as text."""
    return instant.astimezone(UTC).strftime(TS_FORMAT)


def parse_period(from_: str | None, to: str | None, names: tuple[str, str] = ("--from", "--to")) -> tuple[str, str]:
    """``(start, end_exclusive)`` for ``--from``/``--to``; ``to`` as a date includes that whole day.

    ``names`` are how the caller's user spells the two bounds in messages: the CLI's ``--from``/``--to``,
    the API's ``from``/``to`` query parameters.
    """
    start = MIN_TS
    end = MAX_TS
    start_dt = end_dt = None
    if from_:
        start_dt, _ = parse_instant(from_, names[0])
        start = format_ts(start_dt)
    if to:
        instant, whole_day = parse_instant(to, names[1])
        # Inclusive end → exclusive bound: the next day, or the next representable microsecond.
        end_dt = instant + (timedelta(days=1) if whole_day else timedelta(microseconds=1))
        end = format_ts(end_dt)
    if start_dt is not None and end_dt is not None and end_dt <= start_dt:
        raise PeriodError(f"{names[0]} {from_} is after {names[1]} {to}: the period would be empty; swap them",
                          names[0], from_ or "", "empty")
    return start, end


def in_period(ts: str, start: str, end: str) -> bool:
    """Whether a stored ``ts`` lies in ``[start, end)``."""
    return start <= ts < end
