"""Many OS processes appending at once never fork, skip or half-write the log (SPEC §8).

Writers are separate Python processes, as gunicorn workers are: SQLite serialises them with
``BEGIN IMMEDIATE``, PostgreSQL with a transaction-level advisory lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from gatekeeper.ledger import events as ev
from gatekeeper.ledger.verify import verify_rows
from gatekeeper.store import log
from gatekeeper.store.db import Store
from tests.support.process import wait_until

ROOT = Path(__file__).parents[2]

WRITER = """
import sys, time
from gatekeeper.ledger import events as ev
from gatekeeper.store import log
from gatekeeper.store.db import Store
from tests.support.process import wait_until
url, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = Store(url, create=False)
with store.read() as s:
    log.head(s)                                  # connect before the start line
print("ready", flush=True)
while not __import__("os").path.exists(go):
    time.sleep(0.005)
i = 0
while count < 0 or i < count:
    with store.write() as s:
        log.append(s, ev.PushAllowed(repo=f"{name} {i}"), name)
    i += 1
"""

STUCK = """
import sys, time
from gatekeeper.ledger import events as ev
from gatekeeper.store import log
from gatekeeper.store.db import Store
from tests.support.process import wait_until
store = Store(sys.argv[1], create=False)
with store.write() as s:
    log.append(s, ev.PushAllowed(repo="half written"), "victim")
    s.flush()
    print("inside", flush=True)               # the row is inserted, the transaction still open
    time.sleep(120)
"""


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env)


def wait_line(proc: subprocess.Popen[str], expected: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == expected, f"writer said {line!r} (rc {proc.poll()})"


def written_by(store: Store, actor: str) -> int:
    with store.read() as s:
        return int(s.execute(text("SELECT COUNT(*) FROM change_log WHERE actor = :a"), {"a": actor}).scalar() or 0)


def contents(store: Store) -> list[tuple[int, str, str, str, str, str, str]]:
    with store.read() as s:
        return list(log.rows(s))


def test_eight_processes_append_2000_entries_without_a_fork(store: Store, tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [spawn(WRITER, store.url, f"w{i}", "250", str(go)) for i in range(8)]
    for w in writers:
        wait_line(w, "ready")
    go.touch()
    for w in writers:
        assert w.wait(timeout=120) == 0
    rows = contents(store)
    assert [r[0] for r in rows] == list(range(1, 2001))
    assert {r[3] for r in rows} == {f"w{i}" for i in range(8)}
    assert verify_rows(rows).head_hash == rows[-1][6]


def test_a_writer_killed_mid_transaction_leaves_no_partial_entry(store: Store) -> None:
    with store.write() as s:
        log.append(s, ev.ChangeOpened(change_id=1), "alice")
    victim = spawn(STUCK, store.url)
    wait_line(victim, "inside")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    with store.write() as s:  # the lock is free again
        log.append(s, ev.ChangeOpened(change_id=2), "alice")
    rows = contents(store)
    assert [(r[0], r[3]) for r in rows] == [(1, "alice"), (2, "alice")]
    assert verify_rows(rows).count == 2


def test_writers_killed_at_random_moments_never_break_the_chain(store: Store, tmp_path: Path) -> None:
    go = tmp_path / "go"
    steady = [spawn(WRITER, store.url, f"w{i}", "60", str(go)) for i in range(2)]
    victims = [spawn(WRITER, store.url, f"victim{i}", "-1", str(go)) for i in range(2)]
    for p in steady + victims:
        wait_line(p, "ready")
    go.touch()
    for i, (victim, written) in enumerate(zip(victims, (5, 15), strict=True)):  # killed mid-stream, not before
        wait_until(lambda: written_by(store, f"victim{i}") >= written, timeout=60,  # noqa: B023 (called here)
                   what=f"victim{i} to append {written} entries")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    for w in steady:
        assert w.wait(timeout=120) == 0
    with store.write() as s:
        log.append(s, ev.ChangeOpened(title="after the kills"), "alice")
    rows = contents(store)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r[3] == "w0" for r in rows) == 60 and sum(r[3] == "w1" for r in rows) == 60
    assert verify_rows(rows).count == len(rows)
    with store.read() as s:  # nothing dangling in the side table either
        assert s.execute(text("SELECT COUNT(*) FROM change_log_ref WHERE seq > :n"), {"n": len(rows)}).scalar() == 0
