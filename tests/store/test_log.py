"""store.log on SQLite and PostgreSQL: appends, append-only triggers, tampering by a DBA, checkpoints."""

from __future__ import annotations

import io
import json
import stat
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gatekeeper.checkpoints.keys import ensure_key, public_key_path
from gatekeeper.checkpoints.sign import AutoCheckpoint, latest_checkpoint, make_checkpoint, maybe_checkpoint
from gatekeeper.errors import InputError, LedgerBroken
from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.entry import entry_hash
from gatekeeper.ledger.events import KEY_CREATED, LOG_CHECKPOINT, ChangeOpened, KeyCreated, PushAllowed
from gatekeeper.ledger.verify import Summary, verify_lines, verify_rows
from gatekeeper.store import log
from gatekeeper.store.db import Store

KEY = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)


def fill(store: Store, n: int) -> None:
    for i in range(n):
        with store.write() as s:
            log.append(s, ChangeOpened(change_id=i, title=f"Rezept {i} – ü"), "alice", [i])


def check(store: Store, *cps: object) -> Summary:
    with store.read() as s:
        return verify_rows(log.rows(s, batch=3), list(cps), KEY.public_key())  # type: ignore[arg-type]


def sql(store: Store, *statements: str) -> None:
    """Run statements in one transaction, as someone with a database console would."""
    with store.engine.begin() as conn:
        for stmt in statements:
            conn.exec_driver_sql(stmt)


def drop_triggers(store: Store) -> None:
    if store.is_sqlite:
        sql(store, "DROP TRIGGER change_log_no_update", "DROP TRIGGER change_log_no_delete")
    else:
        sql(store, "DROP TRIGGER change_log_no_update_delete ON change_log",
            "DROP TRIGGER change_log_no_truncate ON change_log")


def test_append_numbers_and_links_entries(store: Store) -> None:
    fill(store, 7)
    with store.read() as s:
        assert [e.seq for e in log.entries(s)] == list(range(1, 8))
        assert log.seqs_for_change(s, 3) == [4]
        row = log.head(s)
        assert row is not None and row.kind == "change.opened" and row.actor == "alice"
        assert row.payload == canon(ChangeOpened(change_id=6, title="Rezept 6 – ü").to_payload()).decode()
    summary = check(store)
    assert (summary.count, summary.head_hash) == (7, row.hash)


@pytest.mark.parametrize("statement", ["UPDATE change_log SET actor = 'mallory' WHERE seq = 2",
                                       "DELETE FROM change_log WHERE seq = 2",
                                       "TRUNCATE change_log"])
def test_the_database_refuses_to_change_the_log(store: Store, statement: str) -> None:
    fill(store, 3)
    if statement.startswith("TRUNCATE") and store.is_sqlite:
        statement = "DELETE FROM change_log"  # SQLite's TRUNCATE is an unqualified DELETE
    with pytest.raises(DBAPIError, match="append-only"):
        sql(store, statement)
    assert check(store).count == 3


def _forge_row(store: Store, seq: int, prev: str) -> str:
    ts, payload = "2024-05-01T00:00:00.000000Z", {"forged": True}
    h = entry_hash(seq, ts, "change.approved", "mallory", payload, prev)
    return (f"INSERT INTO change_log (seq, ts, kind, actor, payload, prev_hash, hash) VALUES "
            f"({seq}, '{ts}', 'change.approved', 'mallory', '{canon(payload).decode()}', '{prev}', '{h}')")


def _hash(store: Store, seq: int) -> str:
    with store.read() as s:
        return str(s.execute(text(f"SELECT hash FROM change_log WHERE seq = {seq}")).scalar_one())


# What a DBA could do once the triggers are gone; the chain has 10 entries, a checkpoint covers seq 8.
DBA_TAMPERING: list[tuple[str, Callable[[Store], list[str]], int, str]] = [
    ("edit", lambda st: ["UPDATE change_log SET payload = '{\"change_id\":3,\"title\":\"x\"}' WHERE seq = 4"],
     4, "hash does not recompute"),
    ("edit the actor", lambda st: ["UPDATE change_log SET actor = 'bob' WHERE seq = 4"], 4, "hash does not recompute"),
    ("insert", lambda st: ["UPDATE change_log SET seq = -(seq + 1) WHERE seq >= 4",
                           "UPDATE change_log SET seq = -seq WHERE seq < 0", _forge_row(st, 4, _hash(st, 3))],
     4, "entry inserted"),
    ("delete", lambda st: ["DELETE FROM change_log WHERE seq = 4"], 4, "entry missing: seq 5 follows seq 3"),
    ("delete and renumber", lambda st: ["DELETE FROM change_log WHERE seq = 4",
                                        "UPDATE change_log SET seq = -(seq - 1) WHERE seq > 4",
                                        "UPDATE change_log SET seq = -seq WHERE seq < 0"],
     4, "prev_hash does not match the hash of seq 3"),
    ("reorder", lambda st: ["UPDATE change_log SET seq = -5 WHERE seq = 4",
                            "UPDATE change_log SET seq = 4 WHERE seq = 5",
                            "UPDATE change_log SET seq = 5 WHERE seq = -5"], 4, "prev_hash does not match"),
    ("truncate behind the checkpoint", lambda st: ["DELETE FROM change_log WHERE seq > 6"],
     7, r"entries 7\.\.8 are missing"),
]


@pytest.mark.parametrize(("name", "statements", "seq", "reason"), DBA_TAMPERING, ids=[t[0] for t in DBA_TAMPERING])
def test_tampering_by_a_dba_is_named(store: Store, name: str, statements: Callable[[Store], list[str]], seq: int,
                                     reason: str) -> None:
    fill(store, 8)
    cp = make_checkpoint(store, KEY)  # seq 9 is the log.checkpoint entry
    fill(store, 1)
    assert cp.seq == 8 and check(store, cp).count == 10
    drop_triggers(store)
    sql(store, *statements(store))
    with pytest.raises(LedgerBroken, match=reason) as info:
        check(store, cp)
    assert info.value.seq == seq


def test_a_rewritten_log_fails_at_the_log_checkpoint_it_cannot_resign(store: Store) -> None:
    """The DBA edits seq 3 and recomputes every later hash; the log.checkpoint at seq 7 gives it away."""
    fill(store, 6)
    make_checkpoint(store, KEY)
    fill(store, 2)
    drop_triggers(store)
    with store.read() as s:
        rows = list(log.rows(s))
    statements, prev = [], rows[1][6]
    for seq, ts, kind, actor, payload, _prev, _h in rows[2:]:
        actor = "mallory" if seq == 3 else actor
        h = entry_hash(seq, ts, kind, actor, json.loads(payload), prev)
        statements.append(f"UPDATE change_log SET actor = '{actor}', prev_hash = '{prev}', hash = '{h}' "
                          f"WHERE seq = {seq}")
        prev = h
    sql(store, *statements)
    with pytest.raises(LedgerBroken, match=r"signed by the log\.checkpoint at seq 7") as info:
        check(store)
    assert info.value.seq == 6


def test_checkpoints_on_demand_and_every_n_entries(store: Store) -> None:
    with pytest.raises(InputError, match="log is empty"):
        make_checkpoint(store, KEY)
    store.listen(AutoCheckpoint(every=5, key=KEY))
    fill(store, 12)
    with store.read() as s:
        kinds = [e.kind for e in log.entries(s)]
        latest = latest_checkpoint(s)
    assert [i + 1 for i, k in enumerate(kinds) if k == LOG_CHECKPOINT] == [6, 11]
    assert len(kinds) == 14
    assert latest is not None and latest.seq == 10
    cp = make_checkpoint(store, KEY)
    assert cp.seq == 14
    summary = check(store, cp)
    assert (summary.count, summary.checkpoints, summary.log_checkpoints) == (15, 1, 3)


def test_maybe_checkpoint_is_cheap_and_selective(store: Store) -> None:
    fill(store, 3)
    with store.write() as s:
        assert maybe_checkpoint(s, KEY, 0) is None
        assert maybe_checkpoint(s, KEY, 2) is None
        cp = maybe_checkpoint(s, KEY, 3)
        assert cp is not None and cp.seq == 3
        assert maybe_checkpoint(s, KEY, 2) is None  # the head is now the log.checkpoint entry


def test_missing_key_skips_automatic_checkpoints(store: Store, tmp_path: Path) -> None:
    store.listen(AutoCheckpoint(every=2, key_path=tmp_path / "absent.pem"))
    fill(store, 4)
    assert check(store).count == 4


def test_export_streams_verifiable_jsonl(store: Store) -> None:
    fill(store, 5)
    cp = make_checkpoint(store, KEY)
    fill(store, 2)
    buf = io.BytesIO()
    with store.read() as s:
        result = log.export_jsonl(s, buf, upto=cp.seq)
    assert (result.count, result.first_seq, result.last_seq) == (5, 1, 5)
    lines = buf.getvalue().splitlines(keepends=True)
    assert json.loads(lines[0])["seq"] == 1 and all(line.endswith(b"}\n") for line in lines)
    assert verify_lines(lines, [cp], KEY.public_key()).head_hash == cp.hash


def test_export_filters_a_period_on_ts(store: Store) -> None:
    with store.write() as s:
        for day in (1, 2, 3):
            log.append(s, PushAllowed(repo=f"day {day}"), "bob", ts=f"2024-05-0{day}T12:00:00.000000Z")
    buf = io.BytesIO()
    with store.read() as s:
        result = log.export_jsonl(s, buf, start="2024-05-02T00:00:00.000000Z", end="2024-05-03T00:00:00.000000Z")
    assert (result.count, result.first_seq) == (1, 2)


def test_ensure_key_creates_the_key_once_and_logs_it_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger-signing-key.pem"
    config = SimpleNamespace(service=SimpleNamespace(signing_key=path))
    key = ensure_key(config, store)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_path(path).name == "ledger-signing-key.pub.pem" and public_key_path(path).exists()
    again = ensure_key(config, store)
    assert again.private_bytes_raw() == key.private_bytes_raw()
    with store.read() as s:
        created = [e for e in log.entries(s) if e.kind == KEY_CREATED]
    logged = KeyCreated.from_payload(created[0].payload) if len(created) == 1 else None
    assert logged is not None and logged.created_now is True and len(logged.key_id) == 16
