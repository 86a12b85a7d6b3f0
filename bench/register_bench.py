"""Register export at scale: 100,000 CRs in SQLite, exported as CSV, XLSX and the evidence zip.

Builds the data in bulk straight through the sqlmodel tables (a real hash-chained log of 300,000
entries: opened, approved, deployed per CR), then times each export over periods holding 10k, 50k
and 100k CRs. Each export runs in a fresh process so its peak RSS (``ru_maxrss``) is its own; the
baseline is the RSS after imports and opening the store, when the peak is reset (Linux
``/proc/self/clear_refs``), so "+N MiB" is what the export itself added at its worst. Target: CSV of 100k ≤ 10 s, and
memory flat as the count grows.

    .venv/bin/python bench/register_bench.py [--count 100000] [--sizes 10000,50000,100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.plant import POLICY, directory_toml  # noqa: E402

PER_DAY = 1000
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
def ts(i: int, offset_s: float = 0.0) -> str:
    return (EPOCH + timedelta(seconds=i * 86400 / PER_DAY + offset_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build(folder: Path, count: int) -> None:
    """Write policy, directory, key and ``count`` deployed CRs with their log, in bulk."""
    from sqlalchemy import insert

    from gatekeeper.checkpoints.keys import generate_key
    from gatekeeper.ledger.canonical import canon
    from gatekeeper.ledger.entry import GENESIS_HASH, entry_hash
    from gatekeeper.store.db import Store
    from gatekeeper.store.tables import (
        Approval,
        ChangeLog,
        ChangeLogRef,
        ChangeRequest,
        Deployment,
        MerkleNode,
        Revision,
    )
    from gatekeeper.store.tree import Rebuild

    # The test suite's plant policy and directory (tests/support/plant.py): one source for both.
    (folder / "gatekeeper.toml").write_text(POLICY.format(url="http://127.0.0.1:9",
                                                          database="sqlite:///gatekeeper.db"))
    (folder / "directory.toml").write_text(directory_toml())
    generate_key(folder / "signing-key.pem")
    store = Store(f"sqlite:///{folder / 'gatekeeper.db'}")
    seq, prev = 0, GENESIS_HASH
    chunk = 5000
    state = Rebuild()
    nodes: list[dict[str, object]] = []   # the Merkle tree (store.tree), as appends would have written it

    def entry(at: str, kind: str, actor: str, payload: dict[str, object]) -> dict[str, object]:
        nonlocal seq, prev
        seq += 1
        h = entry_hash(seq, at, kind, actor, payload, prev)
        nodes.extend({"level": lv, "idx": ix, "hash": hh} for lv, ix, hh in state.add(seq, h))
        row = {"seq": seq, "ts": at, "kind": kind, "actor": actor, "payload": canon(payload).decode(),
               "prev_hash": prev, "hash": h}
        prev = h
        return row

    policy = (folder / "gatekeeper.toml").read_text()
    import hashlib

    first = [entry(ts(0, -60), "config.loaded", "gatekeeper", {
        "path": "gatekeeper.toml", "policy": policy, "sha256": hashlib.sha256(policy.encode()).hexdigest(),
        "size": len(policy)})]
    with store.write() as s:
        s.execute(insert(ChangeLog), first)
        nodes.clear()
    for lo in range(1, count + 1, chunk):
        crs, revs, apps, logs, refs, deps = [], [], [], [], [], []
        for i in range(lo, min(lo + chunk, count + 1)):
            fin = i % 3 == 0
            cats = '["erp-mapping"]' if fin else '["default"]'
            fp = hashlib.sha256(str(i).encode()).hexdigest()
            commit = hashlib.sha1(str(i).encode()).hexdigest()  # noqa: S324 (a fake commit id)
            t0, t1, t2, t3 = ts(i), ts(i, 10), ts(i, 20), ts(i, 30)
            crs.append({"id": i, "repo": "plant-a-ot", "topic_ref": f"refs/heads/topic-{i}", "target": "main",
                        "title": f"change {i}: setpoint TT-{i % 999}.high", "ticket": f"CHG-{i}",
                        "state": "deployed", "requested_by": "alice", "requested_at": t0, "categories": cats,
                        "financial": fin, "current_revision": 1, "approved_at": t2 if fin else t1,
                        "deployed_at": t3, "deployed_by": "alice", "deployed_commit": commit, "emergency": False,
                        "updated_at": t3})
            revs.append({"id": i, "change_id": i, "number": 1, "fingerprint": fp, "head": commit, "base": "0" * 40,
                         "pushed_by": "alice", "pushed_at": t0, "commits": "[]", "findings": "[]",
                         "semantic_diff": "[]", "sod_findings": "[]"})
            signers = [("carol", "ot-engineering-leads", t1)] + ([("bob", "finance-controllers", t2)] if fin else [])
            rules = ([{"group": "finance-controllers", "count": 1}] if fin else []) + [
                {"group": "ot-engineering-leads", "count": 1}]
            logs.append(entry(t0, "change.opened", "alice", {
                "change_id": i, "fingerprint": fp, "revision": 1, "repo": "plant-a-ot", "target": "main",
                "title": f"change {i}: setpoint TT-{i % 999}.high", "ticket": f"CHG-{i}", "pusher": "alice",
                "state": "pending", "categories": json.loads(cats), "financial": fin, "sod_findings": [],
                "approvals_required": rules}))
            refs.append({"seq": seq, "change_id": i})
            for n, (who, group, at) in enumerate(signers, 1):
                logs.append(entry(at, "change.approved", who, {
                    "change_id": i, "group": group, "signer": who, "name": who.title(), "revision": 1,
                    "fingerprint": fp, "decision": "approve", "meaning": "Reviewed and approved", "comment": "",
                    "memberships": [{"group": group}], "state": "approved" if n == len(signers) else "pending"}))
                refs.append({"seq": seq, "change_id": i})
                apps.append({"change_id": i, "revision": 1, "fingerprint": fp, "username": who, "name": who.title(),
                             "group": group, "decision": "approve", "meaning": "Reviewed and approved",
                             "comment": "", "signed_at": at, "memberships": f'[{{"group":"{group}"}}]',
                             "log_seq": seq})
            logs.append(entry(t3, "change.deployed", "alice", {"change_id": i, "new": commit, "ref": "refs/heads/main",
                                                               "repo": "plant-a-ot", "state": "deployed"}))
            refs.append({"seq": seq, "change_id": i})
            deps.append({"change_id": i, "repo": "plant-a-ot", "ref": "refs/heads/main", "old": "0" * 40,
                         "new": commit, "pushed_by": "alice", "at": t3, "emergency": False, "log_seq": seq})
        with store.write() as s:
            for table, rows in ((ChangeRequest, crs), (Revision, revs), (Approval, apps), (ChangeLog, logs),
                                (ChangeLogRef, refs), (Deployment, deps), (MerkleNode, nodes)):
                if rows:
                    s.execute(insert(table), rows)
            nodes.clear()
    store.dispose()


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))
    except (OSError, StopIteration, ValueError):
        return None


def _reset_peak() -> int:
    """RSS now; on Linux also reset the peak (VmHWM) so the export's own peak is measured."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    return _status_kib("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak() -> int:
    return _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(folder: Path, fmt: str, size: int) -> None:
    """One export in this (fresh) process; prints a JSON line with time and memory."""
    import gatekeeper.audit.evidence
    import gatekeeper.audit.xlsx  # noqa: F401  (imported before measuring: write_export imports lazily)
    from gatekeeper import config
    from gatekeeper.actions.context import Services
    from gatekeeper.audit.export import write_export
    from gatekeeper.directory import open_directory
    from gatekeeper.store.db import Store

    cfg = config.load(folder / "gatekeeper.toml")
    svc = Services(config=cfg, store=Store(cfg.service.database), directory=open_directory(cfg))
    start, end = ts(1, -1), ts(size, 1)
    base = _reset_peak()
    out = folder / f"out-{size}.{fmt}"
    t = time.perf_counter()
    with out.open("wb") as fh:
        n = write_export(svc, start, end, fmt, fh)
    elapsed = time.perf_counter() - t
    peak = _peak()
    print(json.dumps({"n": n, "seconds": elapsed, "base_kib": base, "peak_kib": peak,
                      "bytes": out.stat().st_size}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--formats", default="csv,xlsx,zip")
    ap.add_argument("--child", nargs=3, metavar=("DIR", "FORMAT", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1], int(args.child[2]))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="gatekeeper-bench-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        build(folder, args.count)
        print(f"built {args.count} CRs, {args.count * 3 + args.count // 3 + 1} log entries in "
              f"{time.perf_counter() - t:.1f} s ({(folder / 'gatekeeper.db').stat().st_size / 2**20:.0f} MiB)")
        ok = True
        for fmt in args.formats.split(","):
            for size in sizes:
                proc = subprocess.run([sys.executable, __file__, "--child", str(folder), fmt, str(size)],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"{fmt} {size}: FAILED\n{proc.stderr}")
                    return 1
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                grow = (r["peak_kib"] - r["base_kib"]) / 1024
                print(f"{fmt:4} {r['n']:>7} CRs  {r['seconds']:6.1f} s  {r['n'] / r['seconds']:>8.0f} rows/s  "
                      f"peak RSS {r['peak_kib'] / 1024:6.1f} MiB (+{grow:5.1f} MiB over baseline)  "
                      f"{r['bytes'] / 2**20:6.1f} MiB written")
                if fmt == "csv" and r["n"] >= 100_000 and r["seconds"] > 10:
                    ok = False
        print("target CSV of 100k <= 10 s:", "met" if ok else "MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
