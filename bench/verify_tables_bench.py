"""The verifier's table phase (issue 21): what ``verify.py`` does after the log pass, ``Projection.finish``
and the rendering and hashing of every table it compares, in CPU seconds of one process.

    .venv/bin/python bench/verify_tables_bench.py [PACK_FOLDER] [--entries 200000] [--repeat 2]

Without a folder it makes a pack of ``--entries`` entries (``evidence_bench.make_pack``; the figures in
docs/benchmarks.md are of the 1,000,000-entry pack). CPU time, not wall, and no worker process: the
development machine's two cores are shared, and CPU time moves less with the load. Each figure is the
best of ``--repeat`` runs; every table's SHA-256 must be the one the pack's export entry records.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gatekeeper.verifier import tables as T  # noqa: E402
from gatekeeper.verifier.checks import _export_entry  # noqa: E402
from gatekeeper.verifier.files import rendered_sha256  # noqa: E402
from gatekeeper.verifier.packdir import list_pack, open_file  # noqa: E402
from gatekeeper.verifier.parallel import log_pass  # noqa: E402
from gatekeeper.verifier.projection import Projection, Tables  # noqa: E402


def phases(pr: Projection) -> Iterable[tuple[str, Callable[[Tables], Iterable[tuple[str, tuple[str, int]]]]]]:
    """(label, work): each work returns the (file, (SHA-256, rows)) it rendered."""
    yield "finish", lambda t: ()
    yield "register.csv", lambda t: [("register.csv", rendered_sha256(T.REGISTER_COLUMNS, pr.register_values(), True))]
    yield "approvals.csv", lambda t: [("approvals.csv",
                                       rendered_sha256(T.APPROVAL_COLUMNS, t.approvals_values(), True))]
    yield "the others", lambda t: [
        ("exceptions.csv", rendered_sha256(T.EXCEPTION_COLUMNS, t.exceptions)),
        ("drift.csv", rendered_sha256(T.DRIFT_COLUMNS, t.drift)),
        ("metrics.csv", rendered_sha256(T.METRICS_COLUMNS, t.metrics_rows())),
        ("policy-history.csv", rendered_sha256(T.POLICY_HISTORY_COLUMNS, t.policy_history)),
        ("comments.csv", rendered_sha256(T.COMMENT_COLUMNS, t.comments))]


def bench(folder: Path, repeat: int) -> None:
    files = list_pack(str(folder))
    tail, params = _export_entry(str(folder), files)
    recorded: dict[str, Any] = tail["payload"]["files"]
    gc.disable()   # as verify.py runs
    start = time.process_time()
    with open_file(str(folder), "log.jsonl") as fh:
        lp, pr = log_pass(fh, files["log.jsonl"], lambda: Projection(params, names=False), params.upto, jobs=1)
    print(f"log pass of {lp.size:,} entries, one process: {time.process_time() - start:.1f} s CPU "
          f"({len(pr.changes):,} change requests)")
    best: dict[str, float] = {}
    for _ in range(repeat):
        start = time.process_time()
        tables = pr.finish()
        best["finish"] = min(best.get("finish", 1e9), time.process_time() - start)
        for label, work in list(phases(pr))[1:]:
            start = time.process_time()
            done = work(tables)
            best[label] = min(best.get(label, 1e9), time.process_time() - start)
            for name, (digest, _rows) in done:
                assert digest == recorded[name], f"{name}: rendered otherwise than the export recorded"
    for label, cpu in best.items():
        print(f"  {label:14s} {cpu:6.2f} s CPU")
    print(f"  {'in all':14s} {sum(best.values()):6.2f} s CPU (best of {repeat}; verify.py renders register.csv in a "
          "worker meanwhile)")


def main() -> None:
    from evidence_bench import pack_cli

    pack_cli(__doc__ or "", bench, 2)


if __name__ == "__main__":
    main()
