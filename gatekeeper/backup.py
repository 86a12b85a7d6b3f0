"""Online backup of a SQLite database (``gatekeeper db backup``). Copying the file of a live database
can give a stale or torn copy (the newest transactions may still sit in the ``-wal`` file); SQLite's
backup API copies a consistent snapshot, page by page, while the service keeps writing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from gatekeeper.errors import InputError


def sqlite_backup(url: str, dest: Path) -> int:
    """Copy the database at ``url`` to ``dest`` (atomically: a temporary file renamed into place);
    returns the last change-log seq in the copy."""
    source = url.split("///", 1)[1] if "///" in url else ""
    if not source or source == ":memory:" or not Path(source).is_file():
        raise InputError(f"no SQLite database file at {source or url}")
    tmp = dest.with_name(f".{dest.name}.partial")
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
        try:
            out = sqlite3.connect(tmp)
            try:
                src.backup(out, pages=1024)
                out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                seq = out.execute("SELECT coalesce(max(seq), 0) FROM change_log").fetchone()[0]
            finally:
                out.close()
        finally:
            src.close()
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"backup of {source} failed: {exc}") from exc
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {dest}: {exc.strerror}") from exc
    return int(seq)
