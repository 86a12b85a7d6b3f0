"""Brute-force protection for the login and e-signature paths (issues 6 and 12).

Two counters, both keyed on the *canonical identity* (``identity_key``: the directory's own spelling
of the name when the user exists, else the NFKC-casefolded typed name), so an unknown name is
counted and locked exactly like a real one and the answer reveals nothing:

1. per (identity, client address): ``max_failures`` failures within ``window`` lock that pair for
   ``lock_seconds``, doubling with each further lock up to ``max_lock_seconds``. Only the guesser's
   own address is locked, so nobody can lock another person out this way.
2. per identity, across all clients: a higher threshold (``user_max_failures`` within ``window``)
   locks the name everywhere for ``user_lock_seconds``. This caps a botnet spreading guesses over
   many addresses, which (1) alone would let through at ``max_failures`` per address per window.

The trade-off of (2), stated plainly: an attacker with ``user_max_failures / max_failures``
addresses can lock a *named* account out for ``user_lock_seconds`` at a time. That lock is short, does
not grow, touches one name per threshold's worth of guesses, and is logged, so it is noticed; without
it a distributed attacker could guess passwords at an unbounded rate. Successful logins reset (1)
only; (2) is a property of the name, not of the client that finally knew the password.

Counting is atomic (issue 22): ``begin`` reserves the attempt *before* the directory sees the
password, as a pending failure in both counters, and refuses when recent failures plus attempts still
in flight reach a threshold. However many workers and threads race, at most ``max_failures`` wrong
passwords for one (identity, client) pair, and ``user_max_failures`` for one identity, are ever
checked, and one burst imposes one lock: attempts refused at ``begin`` are not failures (the caller
may wait for the checks in flight to settle: ``Busy``, ``web.auth._reserve``). ``failure``
or ``success`` settles the reservation; one left behind by a killed worker lapses after
``pending_seconds``.

Where the counts live is a ``Counters`` object: ``MemoryCounters`` (one process, tests) or the
database (``store.counters.SqlCounters``), which every worker on every host shares; each step runs
in one write transaction holding the identity's lock (``Counters.lock``), so N workers count as one
and a lock is imposed (and logged) exactly once. Times are epoch seconds from an injected clock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from gatekeeper.errors import AuthError, GatekeeperError
from gatekeeper.policy.people import fold

if TYPE_CHECKING:
    from gatekeeper.directory.base import Directory

CLIENT, USERNAME = "client", "username"  # Lock.scope values, for the log entry


class Busy(AuthError):
    """``begin`` refused because checks still in flight could reach the threshold: the caller may
    wait for them to settle and try again (a right password from parallel calls then goes through;
    a burst of wrong ones meets the lock they imposed)."""


@dataclass(frozen=True)
class Lock:
    """A lock just imposed by ``failure()``; the caller logs it."""

    scope: str  # CLIENT: this (username, client) pair; USERNAME: the name from every client
    username: str
    client: str
    seconds: float


@dataclass
class Counter:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    locks: int = 0  # locks in a row, for the doubling
    last: float = 0.0
    pending: list[float] = field(default_factory=list)  # attempts reserved by ``begin``, not yet settled


class Counters(Protocol):
    """Storage of the counters, keyed "client US identity US addr" and "username US identity" (US: 0x1f)."""

    def lock(self, user: str) -> None:
        """Hold ``user``'s counters for the rest of the transaction (read-modify-write)."""

    def get(self, key: str) -> Counter | None: ...

    def put(self, key: str, counter: Counter) -> None: ...

    def delete(self, key: str) -> None: ...

    def prune(self, now: float, horizon: float, max_entries: int) -> None: ...


def identity_key(directory: Directory | None, name: str) -> str:
    """The canonical identity the counters are keyed on: the directory's own spelling of the user
    when they exist, else the folded typed name (so ``ALICE``, ``alice`` and ``ａｌｉｃｅ`` share one
    count; ``Directory.canonical`` matches as OpenLDAP does, so ``𝐚𝐥𝐢𝐜𝐞`` is ``alice`` too)."""
    if directory is not None:
        try:
            canonical = directory.canonical(name.strip())
        except GatekeeperError:
            canonical = None  # directory down: authentication fails anyway; count the typed name
        if canonical is not None:
            return canonical
    return fold(name)


def pair_key(user: str, addr: str) -> str:
    return f"{CLIENT}\x1f{user}\x1f{addr}"


def name_key(user: str) -> str:
    return f"{USERNAME}\x1f{user}"


def _message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}"


class MemoryCounters:
    """Counters in this process only (tests, single-process tools)."""

    def __init__(self) -> None:
        self.table: dict[str, Counter] = {}

    def lock(self, user: str) -> None:
        """The ``Lockout``'s thread lock already holds the whole table."""

    def get(self, key: str) -> Counter | None:
        return self.table.get(key)

    def put(self, key: str, counter: Counter) -> None:
        self.table.pop(key, None)  # re-inserted at the end: insertion order tracks recent activity
        self.table[key] = counter

    def delete(self, key: str) -> None:
        self.table.pop(key, None)

    def prune(self, now: float, horizon: float, max_entries: int) -> None:
        """Bound memory against floods of made-up names: idle counters first, then the oldest unlocked
        ones; a locked counter goes last, so flooding cannot evict one's own lock cheaply."""
        table = self.table
        if len(table) <= max_entries:
            return
        for key in [k for k, c in table.items() if c.last < horizon and c.locked_until <= now]:
            del table[key]
        for locked_too in (False, True):
            for key in [k for k, c in table.items() if locked_too or c.locked_until <= now]:
                if len(table) <= max_entries * 9 // 10:
                    return
                del table[key]


class Lockout:
    """The policy; ``check`` before the password check, then ``failure`` or ``success`` after it.

    The ``*_in`` methods work on a caller's ``Counters`` (the database, inside the caller's
    transaction); the plain methods use this object's in-process counters under a thread lock.
    ``username`` is the identity key (``identity_key``); it is folded again here, harmlessly, so
    callers passing a typed name still share counts across spellings.
    """

    def __init__(self, *, max_failures: int = 5, window: float = 900.0, lock_seconds: float = 900.0,
                 max_lock_seconds: float = 86_400.0, user_max_failures: int = 25,
                 user_lock_seconds: float = 900.0, max_entries: int = 100_000, pending_seconds: float = 120.0,
                 clock: Callable[[], float] = time.time) -> None:
        if not 0 < max_failures <= user_max_failures:
            raise ValueError("need 0 < max_failures <= user_max_failures")
        self.max_failures, self.window, self.lock_seconds = max_failures, window, lock_seconds
        self.max_lock_seconds, self.user_max_failures = max_lock_seconds, user_max_failures
        self.user_lock_seconds, self.max_entries, self.clock = user_lock_seconds, max_entries, clock
        self.pending_seconds = pending_seconds
        self.memory = MemoryCounters()
        self._lock = threading.Lock()

    @contextmanager
    def _mem(self) -> Iterator[Counters]:
        with self._lock:
            yield self.memory

    # -- in-process convenience ------------------------------------------------------------------
    def remaining(self, username: str, client: str | None) -> float:
        with self._mem() as c:
            return self.remaining_in(c, username, client)

    def check(self, username: str, client: str | None) -> None:
        """Raise ``AuthError`` while locked; the same answer for known and unknown names."""
        left = self.remaining(username, client)
        if left > 0:
            raise AuthError(_message(left))

    def begin(self, username: str, client: str | None) -> float:
        with self._mem() as c:
            return self.begin_in(c, username, client)

    def failure(self, username: str, client: str | None, ticket: float | None = None) -> list[Lock]:
        with self._mem() as c:
            return self.failure_in(c, username, client, ticket)

    def success(self, username: str, client: str | None, ticket: float | None = None) -> None:
        with self._mem() as c:
            self.success_in(c, username, client, ticket)

    def release(self, username: str, client: str | None, ticket: float) -> None:
        with self._mem() as c:
            self.release_in(c, username, client, ticket)

    # -- on any storage --------------------------------------------------------------------------
    def remaining_in(self, counters: Counters, username: str, client: str | None) -> float:
        """Seconds until ``username`` may try again from ``client`` (0 when it may now)."""
        now, user = self.clock(), fold(username)
        pair, name = counters.get(pair_key(user, client or "")), counters.get(name_key(user))
        until = max(pair.locked_until if pair else 0.0, name.locked_until if name else 0.0)
        return max(0.0, until - now)

    def check_in(self, counters: Counters, username: str, client: str | None) -> None:
        left = self.remaining_in(counters, username, client)
        if left > 0:
            raise AuthError(_message(left))

    def begin_in(self, counters: Counters, username: str, client: str | None) -> float:
        """Reserve one password check before the directory sees it; returns the ticket that
        ``failure_in``/``success_in``/``release_in`` settle. ``AuthError`` while locked, ``Busy`` when
        the failures in the window plus the checks in flight reach a threshold (the same answers
        for known and unknown names)."""
        now, user, addr = self.clock(), fold(username), client or ""
        counters.lock(user)
        self.check_in(counters, user, addr)
        pair = counters.get(pair_key(user, addr)) or Counter()
        name = counters.get(name_key(user)) or Counter()
        for counter, limit in ((pair, self.max_failures), (name, self.user_max_failures)):
            counter.pending = [t for t in counter.pending if t > now - self.pending_seconds]
            if len([t for t in counter.failures if t > now - self.window]) + len(counter.pending) >= limit:
                raise Busy(_message(self.lock_seconds))  # a lock may be landing: no more checks meanwhile
        for key, counter in ((pair_key(user, addr), pair), (name_key(user), name)):
            counter.pending.append(now)
            counter.last = now
            counters.put(key, counter)
        return now

    def release_in(self, counters: Counters, username: str, client: str | None, ticket: float) -> None:
        """The check never answered (directory down): the reservation is dropped, nothing counted."""
        user = fold(username)
        counters.lock(user)
        for key in (pair_key(user, client or ""), name_key(user)):
            counter = counters.get(key)
            if counter is not None and ticket in counter.pending:
                counter.pending.remove(ticket)
                counters.put(key, counter)

    def failure_in(self, counters: Counters, username: str, client: str | None,
                   ticket: float | None = None) -> list[Lock]:
        """Count a wrong password (settling ``ticket``); returns the locks it imposed (usually none)."""
        now, user, addr = self.clock(), fold(username), client or ""
        if ticket is not None:
            self.release_in(counters, user, addr, ticket)
        counters.lock(user)
        imposed: list[Lock] = []
        pair = counters.get(pair_key(user, addr)) or Counter()
        if now - pair.locked_until > self.max_lock_seconds:
            pair.locks = 0  # quiet for long enough: start doubling from the bottom again
        if self._count(pair, now) >= self.max_failures and pair.locked_until <= now:
            seconds = min(self.lock_seconds * 2 ** pair.locks, self.max_lock_seconds)
            pair.locked_until, pair.locks = now + seconds, pair.locks + 1
            pair.failures.clear()
            imposed.append(Lock(CLIENT, user, addr, seconds))
        counters.put(pair_key(user, addr), pair)
        name = counters.get(name_key(user)) or Counter()
        if self._count(name, now) >= self.user_max_failures and name.locked_until <= now:
            name.locked_until = now + self.user_lock_seconds
            name.failures.clear()
            imposed.append(Lock(USERNAME, user, addr, self.user_lock_seconds))
        counters.put(name_key(user), name)
        counters.prune(now, now - max(self.window, self.max_lock_seconds), self.max_entries)
        return imposed

    def success_in(self, counters: Counters, username: str, client: str | None, ticket: float | None = None) -> None:
        """The password was right: settle ``ticket`` and forget this pair's failures (the username-wide
        count stays), unless the pair is locked (a lock is served in full)."""
        if ticket is not None:
            self.release_in(counters, username, client, ticket)
        user = fold(username)
        counters.lock(user)
        key = pair_key(user, client or "")
        pair = counters.get(key)
        if pair is not None and pair.locked_until <= self.clock() and not pair.pending:
            counters.delete(key)
        elif pair is not None and pair.locked_until <= self.clock():
            pair.failures.clear()
            counters.put(key, pair)

    def _count(self, counter: Counter, now: float) -> int:
        counter.last = now
        counter.failures = [t for t in counter.failures if t > now - self.window]
        counter.failures.append(now)
        return len(counter.failures)
