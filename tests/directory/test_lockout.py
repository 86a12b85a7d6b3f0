"""Lockout: brute-force protection keyed on the submitted username, pure apart from an injected clock."""

from __future__ import annotations

import threading

import pytest

from gatekeeper.directory.lockout import CLIENT, USERNAME, Lock, Lockout
from gatekeeper.errors import AuthError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lockout(clock: Clock) -> Lockout:
    return Lockout(clock=clock)


def fail(lockout: Lockout, n: int, username: str = "alice", client: str = "10.0.0.1") -> list[Lock]:
    return [lock for _ in range(n) for lock in lockout.failure(username, client)]


def test_five_failures_lock_the_pair_for_fifteen_minutes(lockout: Lockout, clock: Clock) -> None:
    assert fail(lockout, 4) == []
    lockout.check("alice", "10.0.0.1")
    assert fail(lockout, 1) == [Lock(CLIENT, "alice", "10.0.0.1", 900.0)]
    with pytest.raises(AuthError, match=r"^too many failed attempts; try again in 15 minutes$"):
        lockout.check("alice", "10.0.0.1")
    clock.now += 899.5
    with pytest.raises(AuthError, match=r"try again in 1 minute$"):
        lockout.check("alice", "10.0.0.1")
    clock.now += 1
    lockout.check("alice", "10.0.0.1")


def test_others_are_not_locked_out_by_an_attacker(lockout: Lockout) -> None:
    """The pair lock is the attacker's own: alice from her desk and bob from the attacker still work."""
    fail(lockout, 5, client="203.0.113.9")
    with pytest.raises(AuthError):
        lockout.check("alice", "203.0.113.9")
    lockout.check("alice", "10.0.0.7")
    lockout.check("bob", "203.0.113.9")


def test_the_submitted_name_is_the_key_case_folded(lockout: Lockout) -> None:
    """LDAP matches uids case-insensitively, so ALICE and alice are one account; unknown names count the
    same as real ones (the lockout never asks the directory)."""
    fail(lockout, 3, username="alice")
    fail(lockout, 2, username=" ALICE ")
    with pytest.raises(AuthError):
        lockout.check("Alice", "10.0.0.1")
    fail(lockout, 5, username="no-such-user")
    with pytest.raises(AuthError, match="too many failed attempts"):
        lockout.check("no-such-user", "10.0.0.1")


def test_failures_older_than_the_window_do_not_count(lockout: Lockout, clock: Clock) -> None:
    fail(lockout, 4)
    clock.now += 901
    assert fail(lockout, 4) == []
    lockout.check("alice", "10.0.0.1")


def test_success_forgets_the_pairs_failures(lockout: Lockout) -> None:
    fail(lockout, 4)
    lockout.success("alice", "10.0.0.1")
    assert fail(lockout, 4) == []


def test_repeated_locks_double_up_to_the_cap(clock: Clock) -> None:
    lockout = Lockout(clock=clock, max_lock_seconds=3000.0)
    seconds = []
    for _ in range(4):
        (lock,) = fail(lockout, 5)
        seconds.append(lock.seconds)
        clock.now += lock.seconds
    assert seconds == [900.0, 1800.0, 3000.0, 3000.0]
    clock.now += 3001  # quiet for longer than the cap: back to the start
    assert fail(lockout, 5)[0].seconds == 900.0


def test_a_distributed_guesser_locks_the_name_everywhere(lockout: Lockout, clock: Clock) -> None:
    """The documented trade-off: 25 failures from many addresses lock the name for 15 minutes."""
    locks = [lock for i in range(25) for lock in lockout.failure("carol", f"198.51.100.{i}")]
    assert locks == [Lock(USERNAME, "carol", "198.51.100.24", 900.0)]
    with pytest.raises(AuthError, match="15 minutes"):
        lockout.check("carol", "10.9.9.9")  # even from a fresh address
    lockout.check("dave", "198.51.100.1")
    lockout.success("carol", "10.9.9.9")  # a success elsewhere does not lift the name-wide lock
    with pytest.raises(AuthError):
        lockout.check("carol", "10.9.9.9")
    clock.now += 900
    lockout.check("carol", "10.9.9.9")


def test_remaining_reports_the_longer_lock(lockout: Lockout, clock: Clock) -> None:
    assert lockout.remaining("alice", "10.0.0.1") == 0.0
    fail(lockout, 5)
    clock.now += 100
    assert lockout.remaining("alice", "10.0.0.1") == 800.0
    assert lockout.remaining("alice", None) == 0.0


def test_memory_stays_bounded_and_flooding_keeps_ones_own_lock(clock: Clock) -> None:
    lockout = Lockout(clock=clock, max_entries=10)
    fail(lockout, 5, username="alice", client="203.0.113.9")
    for i in range(100):
        lockout.failure(f"made-up-{i}", "203.0.113.9")
    assert len(lockout.memory.table) <= 20
    with pytest.raises(AuthError):
        lockout.check("alice", "203.0.113.9")


def test_concurrent_failures_impose_exactly_one_lock(lockout: Lockout) -> None:
    locks: list[Lock] = []
    barrier = threading.Barrier(5)

    def worker() -> None:
        barrier.wait()
        locks.extend(lockout.failure("erin", "10.0.0.5"))

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [lock.scope for lock in locks] == [CLIENT]


@pytest.mark.parametrize(("max_failures", "user_max_failures"), [(0, 25), (10, 5)])
def test_nonsense_limits_are_refused(max_failures: int, user_max_failures: int) -> None:
    with pytest.raises(ValueError, match="max_failures"):
        Lockout(max_failures=max_failures, user_max_failures=user_max_failures)


def test_unicode_compatibility_spellings_share_the_counter(lockout: Lockout) -> None:
    for _ in range(5):
        lockout.failure("carol", "10.0.0.1")
    for spelling in ("Carol", "ＣＡＲＯＬ", "𝐜𝐚𝐫𝐨𝐥", " carol "):
        with pytest.raises(AuthError, match="too many failed attempts"):
            lockout.check(spelling, "10.0.0.1")


def test_checks_in_flight_count_so_at_most_the_threshold_is_checked(lockout: Lockout, clock: Clock) -> None:
    """Issue 22: five checks reserved and not yet answered; the sixth is refused before the directory
    sees it, and the five failing impose one lock (15 minutes, not doubled by the rest of the burst)."""
    tickets = [lockout.begin("alice", "10.0.0.1") for _ in range(5)]
    with pytest.raises(AuthError, match="too many failed attempts"):
        lockout.begin("ALICE", "10.0.0.1")
    locks = [lock for t in tickets for lock in lockout.failure("alice", "10.0.0.1", t)]
    assert locks == [Lock(CLIENT, "alice", "10.0.0.1", 900.0)]
    with pytest.raises(AuthError, match="try again in 15 minutes"):
        lockout.begin("alice", "10.0.0.1")


def test_a_success_or_an_unanswered_check_frees_its_reservation(lockout: Lockout, clock: Clock) -> None:
    for _ in range(3):
        lockout.success("alice", "10.0.0.1", lockout.begin("alice", "10.0.0.1"))
    tickets = [lockout.begin("alice", "10.0.0.1") for _ in range(4)]
    lockout.release("alice", "10.0.0.1", tickets[0])  # the directory never answered
    lockout.success("alice", "10.0.0.1", tickets[1])
    for _ in range(3):
        lockout.begin("alice", "10.0.0.1")  # 5 in flight now
    with pytest.raises(AuthError):
        lockout.begin("alice", "10.0.0.1")
    clock.now += 121  # a worker killed mid-check leaves its reservation: it lapses
    lockout.begin("alice", "10.0.0.1")


def test_racing_threads_check_at_most_the_threshold() -> None:
    """50 threads guess at once: exactly five reach the (slow) directory, one lock is imposed."""
    lockout = Lockout()
    checked: list[int] = []
    locks: list[Lock] = []
    gate = threading.Barrier(50)

    def guess(i: int) -> None:
        gate.wait()
        try:
            ticket = lockout.begin("erin", "10.0.0.9")
        except AuthError:
            return
        checked.append(i)
        locks.extend(lockout.failure("erin", "10.0.0.9", ticket))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checked) == 5 and [lock.seconds for lock in locks] == [900.0]
