"""Evidence benchmark (issue 21): the Merkle tree's cost on appends, proofs over a million entries, and the
standalone verify.py over a million-entry pack.

    .venv/bin/python bench/evidence_bench.py [--entries 1000000] [--appends 3000] [--skip-pg]
                                             [--skip-verify | --only-verify]

Targets: append cost with the tree at most +0.1 ms per entry; an inclusion proof for any of 1,000,000
entries within 10 ms and a consistency proof within 50 ms (SQLite, the stored tree); ``python3
verify.py`` over a 1,000,000-entry pack at least 200,000 entries/s. Appends are timed with and
without the tree in the same run (``store.tree.add_leaf`` replaced by a no-op), on SQLite and on
the system's PostgreSQL 15 (a throwaway database, as tests/support/postgres.py makes them).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from gatekeeper.ledger.canonical import canon  # noqa: E402
from gatekeeper.ledger.checkpoint import key_id  # noqa: E402
from gatekeeper.ledger.entry import GENESIS_HASH, entry_hash  # noqa: E402

KEY = Ed25519PrivateKey.from_private_bytes(b"\x2a" * 32)


# -- 1. append cost ------------------------------------------------------------------------------------
def bench_appends(label: str, urls: Iterator[str], n: int) -> None:
    from gatekeeper.ledger.events import ChangeWithdrawn
    from gatekeeper.store import log, tree
    from gatekeeper.store.db import Store

    inside = [0.0]
    real = tree.add_leaf

    def timed(*args: Any) -> None:
        t0 = time.perf_counter()
        real(*args)
        inside[0] += time.perf_counter() - t0

    def run(with_tree: bool) -> float:
        store = Store(next(urls))  # a fresh database each run
        tree.add_leaf = timed if with_tree else (lambda *a: None)  # type: ignore[assignment]
        try:
            start = time.perf_counter()
            for i in range(n):
                with store.write() as s:
                    log.append(s, ChangeWithdrawn(change_id=i, reason="x", state="withdrawn"), "alice")
            return (time.perf_counter() - start) / n * 1000
        finally:
            tree.add_leaf = real  # type: ignore[method-assign]
            store.dispose()

    runs = {True: [], False: []}  # type: dict[bool, list[float]]
    for _ in range(2):  # interleaved, so load on the machine hits both alike
        for with_tree in (False, True):
            runs[with_tree].append(run(with_tree))
    plain, treed = min(runs[False]), min(runs[True])
    print(f"append, {label}: the tree's own work (store.tree.add_leaf, inside the append's transaction) "
          f"{inside[0] / (2 * n) * 1000:.3f} ms per entry (target <= +0.1 ms); whole appends, one per transaction, "
          f"best of 2 x {n}: {plain:.3f} ms without the tree, {treed:.3f} ms with it (commit and fsync dominate)")


def bench_all_appends(n: int, skip_pg: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_appends("SQLite", (f"sqlite:///{tmp}/appends-{i}.db" for i in range(4)), n)
    if skip_pg:
        return
    from tests.support import postgres

    server = postgres.start_server()
    names = [postgres.create_database(server, f"evidence_bench_{i}") for i in range(4)]
    try:
        bench_appends("PostgreSQL", (server.url(name) for name in names), n)
    finally:
        for name in names:
            postgres.drop_database(server, name)
        postgres.stop_server(server)


# -- 2. proofs over a million stored entries ----------------------------------------------------------
def fill(path: Path, n: int) -> None:
    """n entries and their tree, inserted in bulk (what n appends would leave behind)."""
    from gatekeeper.store import tree
    from gatekeeper.store.db import Store

    Store(f"sqlite:///{path}").dispose()  # the schema
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    prev, state = GENESIS_HASH, tree.Rebuild()
    batch: list[tuple[Any, ...]] = []
    nodes: list[tuple[Any, ...]] = []
    for seq in range(1, n + 1):
        ts = f"2026-01-01T00:00:{seq % 60:02d}.{seq % 1000000:06d}Z"
        payload = {"change_id": seq, "reason": "bench", "state": "withdrawn"}
        h = entry_hash(seq, ts, "change.withdrawn", "alice", payload, prev)
        batch.append((seq, ts, "change.withdrawn", "alice", canon(payload).decode(), prev, h))
        nodes.extend(state.add(seq, h))
        prev = h
        if len(batch) >= 50_000:
            _flush(conn, batch, nodes)
    _flush(conn, batch, nodes)
    conn.close()


def _flush(conn: sqlite3.Connection, batch: list[tuple[Any, ...]], nodes: list[tuple[Any, ...]]) -> None:
    conn.executemany("INSERT INTO change_log (seq, ts, kind, actor, payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
                     batch)
    conn.executemany("INSERT INTO merkle_node (level, idx, hash) VALUES (?,?,?)", nodes)
    conn.commit()
    batch.clear()
    nodes.clear()


def bench_proofs(n: int) -> None:
    from gatekeeper.ledger import merkle
    from gatekeeper.store import tree
    from gatekeeper.store.db import Store

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "proofs.db"
        start = time.perf_counter()
        fill(path, n)
        print(f"proofs: {n:,} entries and their tree stored in {time.perf_counter() - start:.1f} s")
        store = Store(f"sqlite:///{path}", create=False)
        rng = random.Random(21)
        with store.read() as s:
            conn = s.connection()
            root = tree.root(conn)
            times = []
            for seq in [1, n, n // 2, *rng.sample(range(1, n + 1), 200)]:
                t0 = time.perf_counter()
                size, proof = tree.inclusion_proof(conn, seq)
                times.append((time.perf_counter() - t0) * 1000)
                h = conn.exec_driver_sql("SELECT hash FROM change_log WHERE seq = ?", (seq,)).scalar_one()
                assert merkle.verify_inclusion(merkle.leaf_hash(bytes.fromhex(h)), seq - 1, size, proof, root)
            print(f"inclusion proof among {n:,}: median {statistics.median(times):.2f} ms, max {max(times):.2f} ms "
                  f"over {len(times)} proofs (target <= 10 ms); each verified")
            times = []
            for old in [1, n - 1, *rng.sample(range(1, n), 100)]:
                t0 = time.perf_counter()
                _size, proof = tree.consistency_proof(conn, old)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"consistency proof to {n:,}: median {statistics.median(times):.2f} ms, max {max(times):.2f} ms "
                  f"over {len(times)} proofs (target <= 50 ms)")
        store.dispose()


# -- 3. verify.py over a million-entry pack ----------------------------------------------------------
def plant_log(n: int) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """A year of a busy plant: per change request an opening, two signatures, the deploy intent, the
    deployment, push.allowed and two notifications; refused pushes, drift checks, a nightly checkpoint."""
    rng = random.Random(7)
    yield ("2026-01-01T00:00:00.000000Z", "config.loaded", "gatekeeper",
           {"path": "gatekeeper.toml", "sha256": hashlib.sha256(b"").hexdigest(),
            "size": 0, "policy": ""})
    i, cid = 1, 0
    while i < n:
        cid += 1
        t = 1_767_225_600 + i * 30  # one entry every 30 s from 2026-01-01
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{i % 1_000_000:06d}Z"
        fp = f"{cid:064x}"
        sha = f"{cid:040x}"
        batch = [
            ("change.opened", "alice", {"change_id": cid, "repo": "plant-a-ot", "topic_ref": f"refs/heads/cr-{cid}",
                                        "target": "main", "revision": 1, "fingerprint": fp, "head": sha,
                                        "base": "0" * 40, "pusher": "alice", "title": f"Recipe change {cid}",
                                        "ticket": f"CHG{cid:07d}", "files": [{"path": f"recipes/r{cid % 50}.xml",
                                                                               "status": "modified",
                                                                               "categories": ["recipes"]}],
                                        "errors": 0, "warnings": 0, "author_memberships": [], "sod_findings": [],
                                        "state": "pending", "approvals_kept": None, "categories": ["recipes"],
                                        "financial": cid % 5 == 0,
                                        "approvals_required": [{"group": "ot-engineering-leads", "count": 1}]}),
            ("change.approved", "carol", {"change_id": cid, "revision": 1, "fingerprint": fp, "signer": "carol",
                                          "name": "Carol Lead", "signer_dn": "", "group": "ot-engineering-leads",
                                          "decision": "approve", "meaning": "Reviewed and approved", "comment": "ok",
                                          "memberships": [{"group": "ot-engineering-leads",
                                                           "via": ["ot-engineering-leads"]}], "state": "approved"}),
            ("notify.sent", "gatekeeper", {"delivery_id": cid, "event": "change.approved", "channel": "email",
                                           "recipient": "alice", "change_id": cid, "event_seq": i + 1, "attempts": 1}),
            ("deploy.intent", "alice", {"intent_id": cid, "repo": "plant-a-ot", "ref": "refs/heads/main",
                                        "old": "0" * 40, "new": sha, "pusher": "alice", "action": "deploy",
                                        "changes": [{"change_id": cid, "revision": 1, "fingerprint": fp}]}),
            ("change.deployed", "alice", {"change_id": cid, "repo": "plant-a-ot", "ref": "refs/heads/main",
                                          "old": "0" * 40, "new": sha, "revision": 1, "fingerprint": fp,
                                          "commits": [sha], "state": "deployed", "intent_id": cid}),
            ("push.allowed", "alice", {"repo": "plant-a-ot", "pusher": "alice", "refs": [
                {"ref": "refs/heads/main", "old": "0" * 40, "new": sha, "allow": True, "deploys": [cid]}]}),
            ("notify.sent", "gatekeeper", {"delivery_id": cid, "event": "change.deployed", "channel": "email",
                                           "recipient": "alice", "change_id": cid, "event_seq": i + 4, "attempts": 1}),
        ]
        if rng.random() < 0.2:
            batch.append(("push.refused", "bob", {"repo": "plant-a-ot", "pusher": "bob", "refs": [
                {"ref": "refs/heads/main", "allow": False, "reasons": ["lacks 1 approval by ot-engineering-leads"]}]}))
        if rng.random() < 0.5:
            batch.append(("drift.checked", "gatekeeper", {"source": "line-1", "repo": "plant-a-ot", "path": "tags/a",
                                                          "result": "in line", "summary": "in line"}))
        for kind, actor, payload in batch:
            if i >= n:
                return
            if i % 1000 == 0:
                yield ts, "log.checkpoint", "gatekeeper", {}
                i += 1
            yield ts, kind, actor, payload
            i += 1


def make_pack(folder: Path, n: int) -> int:
    from tests.support.packs import write_pack

    return write_pack(folder, plant_log(n), KEY, start="2026-01-01T00:00:00.000000Z",
                      end="2027-01-01T00:00:00.000000Z", now="2027-01-02T00:00:00.000000Z")


def pack_cli(doc: str, bench: Callable[[Path, int], None], repeat: int) -> None:
    """The command line of a benchmark over a pack (``verify_tables_bench``, ``verify_floor``): the folder
    given, or a pack of ``--entries`` made for the run; ``bench(folder, --repeat)``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("pack", nargs="?", type=Path)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=repeat)
    args = parser.parse_args()
    if args.pack is not None:
        bench(args.pack, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        make_pack(Path(tmp) / "pack", args.entries)
        bench(Path(tmp) / "pack", args.repeat)


def bench_verify(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pack"
        start = time.perf_counter()
        # made in another process: a child forked from this one would report this one's memory as its own
        subprocess.run([sys.executable, __file__, "--make-pack", str(folder), "--entries", str(n)], check=True)
        size = n + 1
        mib = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        print(f"verify.py: a {size:,}-entry pack ({mib:,.0f} MiB) made in {time.perf_counter() - start:.0f} s")
        load = os.getloadavg()[0]
        start = time.perf_counter()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([sys.executable, "-I", "verify.py", "--key-id", key_id(KEY.public_key())],
                                    cwd=folder, stdout=out, stderr=err)
            _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory
            elapsed = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            lines, problem = out.read().decode().splitlines(), err.read().decode()
        rss, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        assert os.waitstatus_to_exitcode(status) == 0, problem
        print(f"verify.py over {size:,} entries: {elapsed:.1f} s, {size / elapsed:,.0f} entries/s (target >= 200,000), "
              f"peak memory {rss:,.0f} MiB (its largest process); {lines[-1][:60]}...")
        print(f"  its CPU time, its workers' included, {cpu:.1f} s, {size / cpu:,.0f} entries per CPU second, on "
              f"{os.cpu_count()} cores; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after (the wall "
              "figure counts waiting for a shared CPU)")
        sys.path.insert(0, str(folder))
        from gatekeeper.verifier.chain import read_log

        start = time.perf_counter()
        with open(folder / "log.jsonl", "rb") as fh:
            read_log(fh)
        chain = time.perf_counter() - start
        print(f"  the chain and Merkle tree alone (no tables), in one process: {chain:.1f} s, {size / chain:,.0f} "
              "entries/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=3000)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--only-verify", action="store_true")
    parser.add_argument("--make-pack", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_pack:
        make_pack(Path(args.make_pack), args.entries)
        return
    if not args.only_verify:
        bench_all_appends(args.appends, args.skip_pg)
        bench_proofs(args.entries)
    if not args.skip_verify:
        bench_verify(args.entries)


if __name__ == "__main__":
    main()
