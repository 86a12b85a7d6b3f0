"""Drift check benchmark (issue 15): one ``drift check`` of 50 sources of 1 MB each, target ≤ 5 s.

Setup (not timed): a bare repo whose ``main`` holds 50 Ignition tag exports of about 1 MB each
(generated from the real sample by replicating its UDT machines), a SQLite store, and an HTTP
server on 127.0.0.1 serving the live exports: 40 re-formatted and re-ordered (in line, compared as
data), 5 byte-identical (in line), 5 with one tag edited (drift: the full semantic diff, and the
approved-CR lookup). Timed: ``run_checks`` end to end — git read of the 50 approved blobs, 50
HTTP GETs, the comparisons, 50+ log entries and state rows. Best of 3 runs; prints plain lines.

Run: ``.venv/bin/python bench/drift_bench.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from gatekeeper import config as config_mod
from gatekeeper.actions.context import Services
from gatekeeper.drift.check import run_checks
from gatekeeper.store.db import Store

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "formats"
SOURCES, TARGET_BYTES, RUNS = 50, 1_000_000, int(sys.argv[1]) if len(sys.argv) > 1 else 3


def export(target: int, variant: int) -> dict[str, Any]:
    sample = json.loads((FIXTURES / "ignition/full-tag-export.json").read_bytes())
    exchange = sample["tags"][0]["tags"][0]
    machine = next(tag for tag in exchange["tags"] if tag["name"] == "Machine1")
    machines: list[dict[str, Any]] = []
    exchange["tags"] = machines
    def build(count: int) -> int:
        machines.clear()
        for index in range(count):
            copy = json.loads(json.dumps(machine))
            copy["name"] = f"Machine{variant}_{index}"
            for member in copy["tags"][1]["tags"]:
                member.update(valueSource="opc", opcItemPath=f"ns=2;s=PLC{index}.{member['name']}",
                              dataType="Float8")
            machines.append(copy)
        return len(json.dumps(sample, indent=2))

    size = build(100)
    build(int(100 * target / size))
    return sample


class Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, bytes]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        work, bare = tmp / "work", tmp / "plant.git"
        git(tmp, "init", "-q", "--bare", str(bare))
        git(tmp, "init", "-q", "-b", "main", str(work))
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        sources, total = [], 0
        for i in range(SOURCES):
            doc = export(TARGET_BYTES, i)
            approved = json.dumps(doc, indent=2).encode()
            total += len(approved)
            path = f"tags/ignition/line{i:02d}.json"
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_bytes(approved)
            if i < 40:
                live = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
            elif i < 45:
                live = approved
            else:
                doc["tags"][0]["tags"][0]["tags"][0]["tags"][1]["tags"][0]["opcItemPath"] = "ns=2;s=EDITED"
                live = json.dumps(doc, indent=2).encode()
            Handler.routes[f"/line{i:02d}"] = live
            sources.append(f'\n[[drift.sources]]\nname = "line{i:02d}"\nrepo = "plant"\npath = "{path}"\n'
                           f'format = "ignition-tags"\nurl = "http://127.0.0.1:{server.server_address[1]}/line{i:02d}"\n')
        git(work, "add", "-A")
        git(work, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "-m", "approved")
        git(work, "push", "-q", str(bare), "main")
        cfg_path = tmp / "gatekeeper.toml"
        cfg_path.write_text(f'[service]\ndatabase = "sqlite:///{tmp}/gk.db"\n\n[[repos]]\nname = "plant"\n'
                            f'protected = ["main"]\npath = "{bare}"\n\n[[categories]]\nname = "default"\n'
                            f'approvals = []\n\n[drift]\nmax_bytes = 4000000\n' + "".join(sources))
        cfg = config_mod.load(cfg_path)
        store = Store(cfg.service.database)
        services = Services(config=cfg, store=store, directory=None)  # type: ignore[arg-type]
        timings, states = [], {}
        for _ in range(RUNS):
            started = time.perf_counter()
            results = run_checks(services, trigger="bench")
            timings.append(time.perf_counter() - started)
            states = {state: sum(1 for r in results if r.state == state) for state in ("in line", "drift", "error")}
        server.shutdown()
        store.dispose()
    best = min(timings)
    print(f"drift check: {SOURCES} sources, {total / SOURCES / 1e6:.2f} MB each ({total / 1e6:.0f} MB), "
          f"{states['in line']} in line / {states['drift']} drift / {states['error']} error: "
          f"{best:.2f} s best of {RUNS} (runs {', '.join(f'{t:.2f}' for t in timings)}); target ≤ 5 s")
    return 0 if best <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
