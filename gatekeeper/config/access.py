"""``[access]`` (SPEC §12 "Access review"): the conflict matrix and dormancy (the rights themselves are
``policy.access``; who runs reviews is the role ``roles.access_reviewers``, ``policy.rules.Role``)."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.config.toml import Reader
from gatekeeper.policy.access import DEFAULT_CONFLICTS, DEFAULT_DORMANT_DAYS, conflict_pair, conflict_problem


@dataclass(frozen=True)
class AccessConfig:
    """``[access]`` (SPEC §12): the conflict matrix, dormancy, the daily snapshot."""

    conflicts: tuple[str, ...] = DEFAULT_CONFLICTS
    dormant_days: int = DEFAULT_DORMANT_DAYS
    daily_snapshot: bool = True  # the service logs ``access.snapshot`` once a UTC day


def read_access(r: Reader) -> AccessConfig:
    """``[access]``: ``conflicts``, ``dormant_days``, ``daily_snapshot``."""
    codes = r.strings("conflicts", DEFAULT_CONFLICTS)
    seen: set[frozenset[str]] = set()
    for code in codes:
        if problem := conflict_problem(code):
            raise r.fail("conflicts", problem)
        pair = frozenset(conflict_pair(code))
        if pair in seen:
            raise r.fail("conflicts", f"{code!r} is listed twice (the order of the two rights does not matter)")
        seen.add(pair)
    days = r.get("dormant_days", int, AccessConfig.dormant_days)
    if days < 1:
        raise r.fail("dormant_days", "must be a positive number of days")
    cfg = AccessConfig(conflicts=codes, dormant_days=days, daily_snapshot=r.get("daily_snapshot", bool, True))
    r.finish()
    return cfg
