"""The witness's own SQLite file: its name, the logs it trusts (their note keys), the latest checkpoint
it cosigned per log, and every request it refused.

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

from gatekeeper.ledger.note import SIG_ED25519, NoteVerifier, parse_vkey
from gatekeeper.witness.core import Decision, Latest

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
                                       note TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refusal (id INTEGER PRIMARY KEY, at TEXT NOT NULL, status INTEGER NOT NULL,
                                    reason TEXT NOT NULL, request TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trusted_log (vkey TEXT PRIMARY KEY, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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

    # -- what the witness is and whom it trusts (``gatekeeper witness trust``, ``serve --name``) ----------
    def trust(self, vkey: str) -> NoteVerifier:
        """Trust a log's note key from now on (``ValueError`` for anything but an Ed25519 note key)."""
        v = parse_vkey(vkey.strip())
        if v.sig_type != SIG_ED25519:
            raise ValueError("a log's note key has type 0x01 (`gatekeeper keys show` prints it as note_key)")
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO trusted_log (vkey, added_at) VALUES (?, ?)", (v.vkey(), _now()))
        return v

    def logs(self) -> dict[str, list[NoteVerifier]]:
        """The trusted logs' keys by origin (read per request: a log trusted while serving counts at once)."""
        out: dict[str, list[NoteVerifier]] = {}
        with self._connect() as conn:
            for (vkey,) in conn.execute("SELECT vkey FROM trusted_log ORDER BY vkey"):
                v = parse_vkey(vkey)
                out.setdefault(v.name, []).append(v)
        return out

    def name(self, given: str | None, default: str) -> str:
        """The witness's name: fixed the first time it is given (its cosignatures' key name), then kept."""
        with self.transaction() as conn:
            row = conn.execute("SELECT value FROM setting WHERE key = 'name'").fetchone()
            if row is not None and given is not None and given != row[0]:
                raise ValueError(f"this witness is named {row[0]!r}; its name is part of the key logs trust, "
                                 "so it never changes (use another --db for another witness)")
            if row is None:
                conn.execute("INSERT INTO setting (key, value) VALUES ('name', ?)", (given or default,))
                return given or default
            return str(row[0])
