"""Page render times with 10,000 change requests in SQLite (issue 7 target: p95 ≤ 100 ms for
``/changes`` and ``/changes/<id>``). Rows are inserted in bulk through the store's tables, each CR
with one revision, a few files, its log entries (a valid hash chain) and, for signed states, a
signature. Pages are rendered through the Flask test client, signed in. Prints plain lines; exits 1
when a target is missed."""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.entry import GENESIS_HASH, entry_hash
from gatekeeper.store.changes import dumps
from gatekeeper.store.db import Store
from gatekeeper.store.tables import (
    Approval,
    ChangeFile,
    ChangeLog,
    ChangeLogRef,
    ChangeRequest,
    Revision,
)
from tests.support.plant import make_plant, password

N_CRS = 10_000
SAMPLES = 200
TARGET_MS = 100.0
STATES = ["deployed"] * 40 + ["pending"] * 20 + ["approved"] * 15 + ["rejected"] * 10 + ["withdrawn"] * 10 + \
    ["emergency"] * 5
CATEGORY_FILES = {"recipes": "recipes/line{n}/recipe{i}.xml", "erp-mapping": "erp/postings{i}.csv",
                  "scada-tags": "tags/area{n}/tags{i}.txt", "default": "config/plant{i}.txt"}
PUSHERS = ["alice", "erin"]


def ts(day: int, second: int) -> str:
    return f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:" \
           f"{second % 60:02d}.000000Z"


def generate(store: Store, n: int, seed: int = 7) -> None:
    """Bulk rows: one executemany per table; the log chain is hashed exactly as ``store.log`` does."""
    rnd = random.Random(seed)
    crs: list[dict[str, Any]] = []
    revs: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    prev = GENESIS_HASH

    def log(kind: str, actor: str, payload: dict[str, Any], when: str, cid: int) -> int:
        nonlocal prev
        seq = len(logs) + 1
        h = entry_hash(seq, when, kind, actor, payload, prev)
        logs.append({"seq": seq, "ts": when, "kind": kind, "actor": actor, "payload": canon(payload).decode(),
                     "prev_hash": prev, "hash": h})
        refs.append({"seq": seq, "change_id": cid})
        prev = h
        return seq

    for cid in range(1, n + 1):
        state = rnd.choice(STATES)
        cats = sorted(rnd.sample(list(CATEGORY_FILES), rnd.randint(1, 2)))
        pusher = rnd.choice(PUSHERS)
        when = ts(cid * 300 // n, cid * 7)
        fp = f"{rnd.getrandbits(256):064x}"
        head = f"{rnd.getrandbits(160):040x}"
        paths = [CATEGORY_FILES[c].format(n=rnd.randint(1, 9), i=cid * 10 + k) for k, c in enumerate(cats)]
        paths.append(f"docs/notes{cid}.md")
        crs.append({"id": cid, "repo": "plant-a-ot", "topic_ref": f"refs/heads/topic-{cid}", "target": "main",
                    "title": f"Change {cid}: adjust {', '.join(cats)}", "ticket": f"CHG-{cid:05d}", "state": state,
                    "requested_by": pusher, "requested_at": when, "categories": dumps(cats),
                    "financial": "erp-mapping" in cats, "current_revision": 1, "updated_at": when,
                    "emergency": state == "emergency",
                    "emergency_reason": "line stop" if state == "emergency" else None,
                    "emergency_deadline": ts(cid * 300 // n + 3, 0) if state == "emergency" else None,
                    "approved_at": when if state in ("approved", "deployed") else None,
                    "deployed_at": when if state in ("deployed", "emergency") else None})
        commits = [{"sha": head, "author_name": pusher.title(), "author_email": f"{pusher}@plant.example",
                    "committer_name": pusher.title(), "committer_email": f"{pusher}@plant.example",
                    "co_authors": [], "subject": f"change {cid}", "committed_at": when}]
        diff = [{"path": p, "format": None, "changes": [{
            "kind": "changed", "element": p, "text": "modified: +1 −1 lines", "old": None, "new": None,
            "financial": False, "diff": f"--- a/{p}\n+++ b/{p}\n@@ -1 +1 @@\n-value={cid}\n+value={cid + 1}"}]}
            for p in paths]
        revs.append({"id": cid, "change_id": cid, "number": 1, "fingerprint": fp, "head": head, "base": "0" * 40,
                     "pushed_by": pusher, "pushed_at": when, "commits": dumps(commits), "findings": "[]",
                     "semantic_diff": dumps(diff), "sod_findings": "[]"})
        for p in paths:
            files.append({"revision_id": cid, "path": p, "status": "modified", "old_blob": "1" * 40,
                          "new_blob": "2" * 40, "old_mode": "100644", "new_mode": "100644",
                          "categories": dumps([c for c in cats if p.startswith(CATEGORY_FILES[c][:3])] or ["docs"])})
        log("change.opened", pusher, {"change_id": cid, "revision": 1, "fingerprint": fp, "pusher": pusher,
                                      "topic_ref": f"refs/heads/topic-{cid}", "state": "pending"}, when, cid)
        if state in ("approved", "deployed", "rejected"):
            decision = "reject" if state == "rejected" else "approve"
            seq = log("change.rejected" if decision == "reject" else "change.approved", "carol", {
                "change_id": cid, "revision": 1, "fingerprint": fp, "signer": "carol", "name": "Carol Lead",
                "group": "ot-engineering-leads", "decision": decision, "meaning": "Reviewed and approved",
                "comment": "", "state": state}, when, cid)
            approvals.append({"change_id": cid, "revision": 1, "fingerprint": fp, "username": "carol",
                              "name": "Carol Lead", "group": "ot-engineering-leads", "decision": decision,
                              "meaning": "Reviewed and approved", "comment": "", "signed_at": when,
                              "memberships": "[]", "log_seq": seq})
    with store.write() as s:
        for table, rows in ((ChangeRequest, crs), (Revision, revs), (ChangeFile, files), (Approval, approvals),
                            (ChangeLog, logs), (ChangeLogRef, refs)):
            s.execute(insert(table), rows)


def measure(client: Any, paths: list[str]) -> tuple[float, float]:
    times = []
    for path in paths:
        t = time.perf_counter()
        resp = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        if resp.status_code != 200:
            raise SystemExit(f"GET {path}: {resp.status_code}")
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="gatekeeper-web-bench-"))
    plant = make_plant(tmp)
    os.environ.setdefault("GATEKEEPER_SECRET_KEY", "bench-secret")
    os.environ.setdefault("GATEKEEPER_HOOK_TOKEN", "bench-token")
    t = time.perf_counter()
    generate(Store(plant.database), N_CRS)
    print(f"generated {N_CRS} change requests in {time.perf_counter() - t:.1f} s ({plant.database})")

    from gatekeeper.web import create_app

    app = create_app(str(plant.config), overrides={"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/login", data={"username": "carol", "password": password("carol")})
    rnd = random.Random(1)
    cases = [
        ("/changes", ["/changes"] * SAMPLES, True),
        ("/changes?state=pending", ["/changes?state=pending"] * SAMPLES, True),
        ("/changes?category=erp-mapping&financial=yes&from=2026-03-01&to=2026-06-30",
         ["/changes?category=erp-mapping&financial=yes&from=2026-03-01&to=2026-06-30"] * SAMPLES, True),
        ("/changes?page=<random>", [f"/changes?page={rnd.randint(1, N_CRS // 50)}" for _ in range(SAMPLES)], True),
        ("/changes?q=<random text> (search, issue 25)",
         [f"/changes?q={rnd.choice(['recipes', 'CHG-0', 'topic-1', 'adjust erp'])}{rnd.randint(1, 99)}"
          for _ in range(SAMPLES)], True),
        ("/changes?who=groups&sort=title", ["/changes?who=groups&sort=title"] * SAMPLES, True),
        ("/changes?who=mine&sort=updated (carol requested none)", ["/changes?who=mine&sort=updated"] * SAMPLES, True),
        ("/changes/<random id>", [f"/changes/{rnd.randint(1, N_CRS)}" for _ in range(SAMPLES)], True),
        ("/ (dashboard, carol)", ["/"] * 50, False),
        ("/log", ["/log"] * 50, False),
    ]
    failed = False
    for name, paths, target in cases:
        measure(client, paths[:5])  # warm-up
        p50, p95 = measure(client, paths)
        verdict = ("ok" if p95 <= TARGET_MS else "SLOW") if target else "info"
        failed = failed or verdict == "SLOW"
        print(f"GET {name:<75} n={len(paths):<4} p50={p50:6.1f} ms  p95={p95:6.1f} ms  {verdict}")
    print(f"target: p95 <= {TARGET_MS:.0f} ms for /changes and /changes/<id>: {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
