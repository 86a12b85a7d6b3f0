"""Brute-force protection for the login and e-signature paths (issue 6), in process and pure.

Two counters, both keyed on the username: the caller passes the directory's canonical spelling when
the name resolves (``Directory.canonical``), else the submitted name; either way it is folded here
(``base.fold``: NFKC + case folding, as OpenLDAP matches uids), so ``Carol``, ``ＣＡＲＯＬ`` and ``carol``
share one counter, and an unknown name is counted and locked exactly like a real one:

1. per (username, client address): ``max_failures`` failures within ``window`` lock that pair for
   ``lock_seconds``, doubling with each further lock up to ``max_lock_seconds``. Only the guesser's
   own address is locked, so nobody can lock another person out this way.
2. per username, across all clients: a higher threshold (``user_max_failures`` within ``window``)
   locks the name everywhere for ``user_lock_seconds``. This caps a botnet spreading guesses over
   many addresses, which (1) alone would let through at ``max_failures`` per address per window.

The trade-off of (2), stated plainly: an attacker with ``user_max_failures / max_failures``
addresses can lock a *named* account out for ``user_lock_seconds`` at a time. That lock is short, does
not grow, touches one name per threshold's worth of guesses, and is logged, so it is noticed; without
it a distributed attacker could guess passwords at an unbounded rate. Successful logins reset (1)
only; (2) is a property of the name, not of the client that finally knew the password.

The state lives in one process: with several workers each keeps its own counts (the effective limits
multiply by the number of workers); a restart forgets them. The clock is injected for tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from gatekeeper.directory.base import fold
from gatekeeper.errors import AuthError

CLIENT, USERNAME = "client", "username"  # Lock.scope values, for the log entry
K = TypeVar("K")


@dataclass(frozen=True)
class Lock:
    """A lock just imposed by ``failure()``; the caller logs it."""

    scope: str  # CLIENT: this (username, client) pair; USERNAME: the name from every client
    username: str
    client: str
    seconds: float


@dataclass
class _Counter:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    locks: int = 0  # locks in a row, for the doubling
    last: float = 0.0


def _key(username: str) -> str:
    return fold(username)


def _message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}"


class Lockout:
    """Thread-safe failure counters; call ``check`` before the password check, then ``failure`` or
    ``success`` after it."""

    def __init__(self, *, max_failures: int = 5, window: float = 900.0, lock_seconds: float = 900.0,
                 max_lock_seconds: float = 86_400.0, user_max_failures: int = 25,
                 user_lock_seconds: float = 900.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < max_failures <= user_max_failures:
            raise ValueError("need 0 < max_failures <= user_max_failures")
        self.max_failures, self.window, self.lock_seconds = max_failures, window, lock_seconds
        self.max_lock_seconds, self.user_max_failures = max_lock_seconds, user_max_failures
        self.user_lock_seconds, self.max_entries, self._clock = user_lock_seconds, max_entries, clock
        self._pairs: dict[tuple[str, str], _Counter] = {}
        self._users: dict[str, _Counter] = {}
        self._lock = threading.Lock()

    def remaining(self, username: str, client: str | None) -> float:
        """Seconds until ``username`` may try again from ``client`` (0 when it may now)."""
        now, user = self._clock(), _key(username)
        with self._lock:
            pair, name = self._pairs.get((user, client or "")), self._users.get(user)
            until = max(pair.locked_until if pair else 0.0, name.locked_until if name else 0.0)
        return max(0.0, until - now)

    def check(self, username: str, client: str | None) -> None:
        """Raise ``AuthError`` while locked; the same answer for known and unknown names."""
        left = self.remaining(username, client)
        if left > 0:
            raise AuthError(_message(left))

    def failure(self, username: str, client: str | None) -> list[Lock]:
        """Count a wrong password; returns the locks this failure imposed (usually none)."""
        now, user, addr = self._clock(), _key(username), client or ""
        imposed: list[Lock] = []
        with self._lock:
            pair = self._touch(self._pairs, (user, addr), now)
            if now - pair.locked_until > self.max_lock_seconds:
                pair.locks = 0  # quiet for long enough: start doubling from the bottom again
            if self._count(pair, now) >= self.max_failures:
                seconds = min(self.lock_seconds * 2 ** pair.locks, self.max_lock_seconds)
                pair.locked_until, pair.locks = now + seconds, pair.locks + 1
                pair.failures.clear()
                imposed.append(Lock(CLIENT, user, addr, seconds))
            name = self._touch(self._users, user, now)
            if self._count(name, now) >= self.user_max_failures:
                name.locked_until = now + self.user_lock_seconds
                name.failures.clear()
                imposed.append(Lock(USERNAME, user, addr, self.user_lock_seconds))
            self._prune(now)
        return imposed

    def success(self, username: str, client: str | None) -> None:
        """The password was right: forget this pair's failures (the username-wide count stays)."""
        with self._lock:
            self._pairs.pop((_key(username), client or ""), None)

    # -- internals (called with the lock held) ---------------------------------------------------
    def _touch(self, table: dict[K, _Counter], key: K, now: float) -> _Counter:
        """The counter for ``key``, moved to the end so insertion order tracks recent activity."""
        counter = table.pop(key, None) or _Counter()
        counter.last = now
        table[key] = counter
        return counter

    def _count(self, counter: _Counter, now: float) -> int:
        while counter.failures and counter.failures[0] <= now - self.window:
            counter.failures.popleft()
        counter.failures.append(now)
        return len(counter.failures)

    def _prune(self, now: float) -> None:
        """Bound memory against floods of made-up names: drop idle counters first, then the oldest
        unlocked ones; a locked counter goes last, so flooding cannot evict one's own lock cheaply.
        Pruning to 90 % keeps the scan rare under a flood."""
        self._prune_table(self._pairs, now)
        self._prune_table(self._users, now)

    def _prune_table(self, table: dict[K, _Counter], now: float) -> None:
        if len(table) <= self.max_entries:
            return
        horizon = now - max(self.window, self.max_lock_seconds)
        for key in [k for k, c in table.items() if c.last < horizon and c.locked_until <= now]:
            del table[key]
        for locked_too in (False, True):
            for key in [k for k, c in table.items() if locked_too or c.locked_until <= now]:
                if len(table) <= self.max_entries * 9 // 10:
                    return
                del table[key]
