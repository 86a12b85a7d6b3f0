"""The witness's own SQLite file: the latest checkpoint it cosigned per log, and every request it refused.

Checking a request against the record and moving the record forward happen in one ``BEGIN
IMMEDIATE`` transaction, as tlog-witness requires (two concurrent requests can never roll the
record back). Nothing here is shared with the log's database: the witness is meant to run
elsewhere, under someone else's control.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gatekeeper.witness.core import Decision, Latest

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
                                       note TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refusal (id INTEGER PRIMARY KEY, at TEXT NOT NULL, status INTEGER NOT NULL,
                                    reason TEXT NOT NULL, request TEXT NOT NULL);
"""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class WitnessState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def handle(self, decide: Callable[[Callable[[str], Latest | None]], Decision], request: bytes) -> Decision:
        """Decide under the lock and record the outcome: the new latest checkpoint, or the refusal."""
        with self.transaction() as conn:
            def latest(origin: str) -> Latest | None:
                row = conn.execute("SELECT size, root FROM checkpoint WHERE origin = ?", (origin,)).fetchone()
                return Latest(int(row[0]), bytes(row[1])) if row else None

            d = decide(latest)
            if d.status == 200 and d.cosigned is not None:
                conn.execute("INSERT INTO checkpoint (origin, size, root, note, updated_at) VALUES (?, ?, ?, ?, ?) "
                             "ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
                             "note = excluded.note, updated_at = excluded.updated_at",
                             (d.cosigned.origin, d.cosigned.size, d.cosigned.root, d.note, _now()))
            elif d.status != 200:
                conn.execute("INSERT INTO refusal (at, status, reason, request) VALUES (?, ?, ?, ?)",
                             (_now(), d.status, d.reason, request[:65536].decode("utf-8", "replace")))
            return d

    def latest(self, origin: str) -> Latest | None:
        with self._connect() as conn:
            row = conn.execute("SELECT size, root FROM checkpoint WHERE origin = ?", (origin,)).fetchone()
        return Latest(int(row[0]), bytes(row[1])) if row else None
