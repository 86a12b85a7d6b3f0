"""Control metrics and the control report for 100,000 CRs (issue 16; target ≤ 10 s).

Reuses bench/register_bench.py's bulk builder (the test plant's policy and directory, a real
hash-chained log of ~333,000 entries), adds refused pushes and emergency changes so every metric has
data, then times, each in a fresh process:

- ``metrics``: ``metrics.compute`` (register rows, log facts, exceptions) for the whole period;
- ``report``: ``report.build`` (sign a checkpoint, metrics, reconciliation, verify the whole log up
  to the checkpoint, controls, render ``report.html`` with its charts): the metrics and the report.

Both wall and CPU time are printed: on a shared machine the CPU time is the steadier figure.

    .venv/bin/python bench/report_bench.py [--count 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.register_bench import build, ts  # noqa: E402

EXTRA = 2000  # refused pushes and emergency CRs added on top


def add_exceptions(folder: Path, count: int) -> None:
    """Refused pushes and emergency CRs after the bulk history, appended through the real log writer."""
    from sqlalchemy import insert

    from gatekeeper.ledger import events as ev
    from gatekeeper.store import log
    from gatekeeper.store.db import Store
    from gatekeeper.store.tables import ChangeRequest, Revision

    store = Store(f"sqlite:///{folder / 'gatekeeper.db'}")
    with store.write() as s:
        for i in range(EXTRA):
            why = (ev.Reason("gate.unapproved_file", "refusing refs/heads/main: erp/x.csv (erp-mapping) needs 1 "
                             "approval by finance-controllers") if i % 2 else
                   ev.Reason("gate.non_fast_forward", "refusing refs/heads/main: non-fast-forward update of a "
                             "protected branch"))
            log.append(s, ev.PushRefused(repo="plant-a-ot", pusher="mallory", refs=(ev.RefOutcome(
                ref="refs/heads/main", old="0" * 40, new="1" * 40, reasons=(why,)),)), "mallory")
        crs, revs = [], []
        for j in range(EXTRA // 10):
            cid = count + 1 + j
            at = ts(count - EXTRA + j * 10)
            crs.append({"id": cid, "repo": "plant-a-ot", "topic_ref": "refs/heads/main", "target": "main",
                        "title": f"emergency {j}", "ticket": "", "state": "emergency" if j % 3 else "retro-approved",
                        "requested_by": "erin", "requested_at": at, "categories": '["default"]', "financial": False,
                        "current_revision": 1, "deployed_at": at, "deployed_by": "erin", "deployed_commit": "2" * 40,
                        "emergency": True, "emergency_reason": "line down", "emergency_deadline": ts(count),
                        "retro_approved_at": None if j % 3 else ts(count - 5), "updated_at": at})
            revs.append({"change_id": cid, "number": 1, "fingerprint": "f" * 64, "head": "2" * 40, "base": "0" * 40,
                         "pushed_by": "erin", "pushed_at": at, "commits": "[]", "findings": "[]",
                         "semantic_diff": "[]", "sod_findings": "[]",
                         "approvals_required": '[{"count":1,"group":"ot-engineering-leads"}]'})
        s.execute(insert(ChangeRequest), crs)
        s.execute(insert(Revision), revs)
    store.dispose()


def child(folder: Path, what: str, count: int) -> None:
    from gatekeeper import config
    from gatekeeper.actions.context import Services
    from gatekeeper.audit import metrics, report
    from gatekeeper.directory import open_directory
    from gatekeeper.store.db import Store

    cfg = config.load(folder / "gatekeeper.toml")
    svc = Services(config=cfg, store=Store(cfg.service.database), directory=open_directory(cfg))
    start, end = ts(0, -3600), "2999-12-31T00:00:00Z"  # the whole history, the refused pushes appended now too
    t, cpu = time.perf_counter(), time.process_time()
    if what == "metrics":
        m = metrics.compute(svc, start, end)
        out = {k: m[k] for k in ("population", "deployed", "emergency", "refused_pushes", "exceptions_total")}
    else:
        html = report.build(svc, start, end)
        out = {"bytes": len(html.encode())}
    print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - cpu, **out}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--child", nargs=3, metavar=("DIR", "WHAT", "COUNT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1], int(args.child[2]))
        return 0
    with tempfile.TemporaryDirectory(prefix="gatekeeper-report-bench-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        build(folder, args.count)
        add_exceptions(folder, args.count)
        print(f"built {args.count} CRs (+{EXTRA // 10} emergency, {EXTRA} refused pushes) in "
              f"{time.perf_counter() - t:.1f} s")
        ok = True
        for what in ("metrics", "report"):
            proc = subprocess.run([sys.executable, __file__, "--child", str(folder), what, str(args.count)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{what}: FAILED\n{proc.stderr}")
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            extra = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("seconds", "cpu"))
            print(f"{what:7} {r['seconds']:6.2f} s wall, {r['cpu']:6.2f} s CPU  ({extra})")
            ok = ok and r["seconds"] <= 10
        print(f"target metrics and report of {args.count} CRs <= 10 s each:", "met" if ok else "MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
