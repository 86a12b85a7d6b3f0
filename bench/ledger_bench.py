"""Change-log benchmark: verification throughput against raw SHA-256, and concurrent appends.

    .venv/bin/python bench/ledger_bench.py [--entries 1000000] [--writers 8] [--appends 250]
                                           [--pg-url postgresql+psycopg://...] [--skip-pg] [--skip-db-verify]

Verification is measured three ways on the same generated log: export lines held in memory
(``verify_lines``), ``gatekeeper log verify --export`` streaming the JSONL file, and stored rows
read back from SQLite (``verify_rows``). Each is set against a plain loop computing SHA-256 of
every line over the same bytes, in the same run. Appends: N writer processes, each its own
``Store``, appending concurrently to SQLite and to PostgreSQL (a throwaway database in the system
cluster, made as in tests/support/postgres.py, unless ``--pg-url`` is given).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from gatekeeper.ledger.canonical import canon  # noqa: E402
from gatekeeper.ledger.checkpoint import Checkpoint, public_key_pem, sign  # noqa: E402
from gatekeeper.ledger.entry import GENESIS_HASH, entry_hash  # noqa: E402
from gatekeeper.ledger.events import LOG_CHECKPOINT  # noqa: E402
from gatekeeper.ledger.verify import verify_lines  # noqa: E402

USERS = ["alice", "carol", "bob", "gina", "erin", "deploy-bot"]
PATHS = ["recipes/line-{}/batch-{}.xml", "tags/ignition/area{}/tag{}.json", "erp/mapping-{}-{}.csv",
         "plc/cell{}/program{}.xml"]


def _sha(i: int) -> str:
    return hashlib.sha1(str(i).encode()).hexdigest()  # noqa: S324  (fake git ids)


def payload(kind: str, i: int, rng: random.Random) -> dict[str, object]:
    """Payloads shaped like the real ones (actions/changes.py, actions/push.py)."""
    files = [{"path": rng.choice(PATHS).format(rng.randint(1, 9), rng.randint(1, 999)), "status": "modified",
              "categories": ["recipes"]} for _ in range(rng.randint(1, 4))]
    if kind == "change.opened":
        return {"change_id": i, "repo": "plant-a-ot", "topic_ref": f"refs/heads/topic/cr-{i}", "target": "main",
                "revision": 1, "fingerprint": _sha(i) + _sha(-i)[:24], "head": _sha(i + 1), "base": _sha(i + 2),
                "pusher": "alice", "title": f"Adjust dosing setpoint for batch line {i % 9}", "ticket": f"OT-{i}",
                "files": files, "errors": 0, "warnings": rng.randint(0, 2),
                "author_memberships": [{"group": "ot-engineers", "via": ["ot-engineers"]}],
                "sod_findings": [], "state": "pending", "approvals_kept": None}
    if kind == "change.approved":
        return {"change_id": i, "revision": 1, "fingerprint": _sha(i) + _sha(-i)[:24], "signer": "carol",
                "group": "ot-engineering-leads", "meaning": "Reviewed and approved", "comment": "ok",
                "memberships": [{"group": "ot-engineering-leads", "via": ["ot-engineering-leads"]}],
                "state": "approved"}
    if kind == "push.allowed":
        return {"repo": "plant-a-ot", "pusher": "alice", "push_options": [], "emergency": None,
                "refs": [{"ref": "refs/heads/main", "old": _sha(i), "new": _sha(i + 1), "allow": True,
                          "deploys": [i], "unapproved_ok": [], "reasons": []}]}
    return {"change_id": i, "repo": "plant-a-ot", "ref": "refs/heads/main", "old": _sha(i), "new": _sha(i + 1),
            "revision": 1, "fingerprint": _sha(i) + _sha(-i)[:24], "commits": [_sha(i + k) for k in range(3)],
            "state": "deployed"}


def generate(path: Path, n: int, key: Ed25519PrivateKey) -> tuple[Checkpoint, int]:
    """Write a valid n-entry log as JSONL with a log.checkpoint every 1000 entries; the last checkpoint."""
    rng = random.Random(4)
    kinds = ["change.opened", "change.approved", "push.allowed", "change.deployed"]
    prev, cp, size = GENESIS_HASH, None, 0
    with open(path, "wb") as fh:
        for seq in range(1, n + 1):
            ts = f"2024-{1 + seq // 100000 % 12:02d}-01T08:00:00.{seq % 1000000:06d}Z"
            if seq % 1000 == 0:
                cp = sign(seq - 1, prev, ts, key)
                kind, actor, body = LOG_CHECKPOINT, "gatekeeper", cp.to_dict()
            else:
                kind, actor = kinds[seq % 4], rng.choice(USERS)
                body = payload(kind, seq, rng)
            h = entry_hash(seq, ts, kind, actor, body, prev)
            line = canon({"seq": seq, "ts": ts, "kind": kind, "actor": actor, "payload": body,
                          "prev_hash": prev, "hash": h}) + b"\n"
            size += len(line)
            fh.write(line)
            prev = h
    assert cp is not None
    return cp, size


def raw_hash(lines: Iterator[bytes] | list[bytes]) -> None:
    sha = hashlib.sha256
    for line in lines:
        sha(line).digest()


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def report(label: str, n: int, raw: float, ver: float) -> None:
    print(f"{label}: raw sha256 {n / raw:,.0f} entries/s ({raw:.2f} s), verify {n / ver:,.0f} entries/s "
          f"({ver:.2f} s), verify/raw {raw / ver:.0%}")


def bench_verify(n: int, skip_db: bool) -> None:
    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        export, pem = Path(tmp) / "log.jsonl", Path(tmp) / "public.pem"
        pem.write_bytes(public_key_pem(key.public_key()))
        t = time.perf_counter()
        cp, size = generate(export, n, key)
        print(f"generated {n:,} entries, {size / n:.0f} bytes per line on average, in {time.perf_counter() - t:.1f} s")
        cp_file = Path(tmp) / "cp.json"
        cp_file.write_bytes(cp.to_json())
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")

        lines = export.read_bytes().splitlines(keepends=True)
        raw = min(timed(raw_hash, lines) for _ in range(2))
        ver = min(timed(verify_lines, lines, [cp], key.public_key()) for _ in range(2))
        report("in memory (verify_lines)", n, raw, ver)
        del lines

        def raw_file() -> None:
            with open(export, "rb") as fh:
                raw_hash(fh)

        from gatekeeper.cli import main

        def cli() -> None:
            rc = main(["log", "verify", "--export", str(export), "--public-key", str(pem), "--checkpoint",
                       str(cp_file)])
            assert rc == 0

        with contextlib.redirect_stdout(open(os.devnull, "w")):
            raw = min(timed(raw_file) for _ in range(2))
            ver = min(timed(cli) for _ in range(2))
        report("gatekeeper log verify --export (streaming the file)", n, raw, ver)
        if not skip_db:
            bench_db_verify(export, Path(tmp), n, cp, key)


def bench_db_verify(export: Path, tmp: Path, n: int, cp: Checkpoint, key: Ed25519PrivateKey) -> None:
    import json

    from gatekeeper.ledger.verify import verify_rows
    from gatekeeper.store import log
    from gatekeeper.store.db import Store

    url = f"sqlite:///{tmp / 'bench.db'}"
    Store(url).dispose()
    conn = sqlite3.connect(tmp / "bench.db")
    with open(export, "rb") as fh:
        rows = ((d["seq"], d["ts"], d["kind"], d["actor"], canon(d["payload"]).decode(), d["prev_hash"], d["hash"])
                for d in map(json.loads, fh))
        conn.executemany("INSERT INTO change_log VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    store = Store(url, create=False)

    def read_only() -> None:
        with store.read() as s:
            raw_hash(b"" for _ in log.rows(s))

    def read_and_verify() -> None:
        with store.read() as s:
            verify_rows(log.rows(s), [cp], key.public_key())

    def read_and_hash() -> None:
        from gatekeeper.ledger.jsonl import row_line

        with store.read() as s:
            raw_hash(row_line(*r) for r in log.rows(s))

    fetch = timed(read_only)
    raw = timed(read_and_hash)
    ver = timed(read_and_verify)
    print(f"SQLite rows: fetching alone {n / fetch:,.0f} rows/s")
    report("SQLite rows (verify_rows, incl. fetch and line building)", n, raw, ver)
    store.dispose()


WRITER = """
import os, sys, time
from gatekeeper.ledger import events as ev
from gatekeeper.store import log
from gatekeeper.store.db import Store
url, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = Store(url, create=False)
with store.read() as s:
    log.head(s)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(count):
    with store.write() as s:
        log.append(s, ev.PushAllowed(repo="plant-a-ot", pusher=f"{name} {i}"), name)
"""


def bench_appends(label: str, url: str, writers: int, appends: int, tmp: Path) -> None:
    from gatekeeper.ledger.verify import verify_rows
    from gatekeeper.store import log
    from gatekeeper.store.db import Store

    Store(url).dispose()
    go = tmp / f"go-{label}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"w{i}", str(appends), str(go)],
                              stdout=subprocess.PIPE, text=True, env=env) for i in range(writers)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    go.touch()
    for p in procs:
        assert p.wait() == 0
    elapsed = time.perf_counter() - start
    store = Store(url, create=False)
    with store.read() as s:
        summary = verify_rows(log.rows(s))
    store.dispose()
    total = writers * appends
    assert summary.count == total
    print(f"appends, {label}: {writers} processes x {appends} = {total} entries in {elapsed:.2f} s, "
          f"{total / elapsed:,.0f} appends/s; chain verifies (seq 1..{summary.head_seq})")


def bench_all_appends(writers: int, appends: int, pg_url: str | None, skip_pg: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_appends("SQLite", f"sqlite:///{tmp}/appends.db", writers, appends, Path(tmp))
        if skip_pg:
            return
        if pg_url:
            bench_appends("PostgreSQL", pg_url, writers, appends, Path(tmp))
            return
        from tests.support import postgres

        server = postgres.start_server()
        name = postgres.create_database(server, "ledger_bench")
        try:
            bench_appends("PostgreSQL", server.url(name), writers, appends, Path(tmp))
        finally:
            postgres.drop_database(server, name)
            postgres.stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--appends", type=int, default=250)
    parser.add_argument("--pg-url")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-db-verify", action="store_true")
    args = parser.parse_args()
    bench_verify(args.entries, args.skip_db_verify)
    bench_all_appends(args.writers, args.appends, args.pg_url, args.skip_pg)


if __name__ == "__main__":
    main()
