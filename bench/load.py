"""Load and soak (issue 12): pushers and approvers against two gunicorn instances (2 workers each) behind a
round-robin balancer, on a throwaway PostgreSQL 15 cluster this script starts itself (initdb + pg_ctl as
the postgres user; never the system cluster the tests use), for a fixed time.

Pushers (alice) push topic branches through the real hooks (each opens a CR) and, when one of their CRs
is approved, rebase it onto main and push it there (a protected push through the gate). Approvers (carol,
gina) take CRs as they open, read their page ``/changes/<id>`` signed in, and sign through the API.
Printed: pushes/s, p50/p95 topic and protected push times, signatures/s, p95 of ``/changes/<id>``, all of
the steady state: operations started in the first ``--warmup`` seconds (5; every client starts in the same
instant, each pusher with its first fetch and push) are counted apart and printed on their own line; then
the invariants: log seq 1..N, ``log verify`` passes, CRs = ``change.opened``, every commit on main matched
by ``audit reconcile``, and (with faults) every refusal the gate made is logged as ``push.refused``.

``--faults`` kills a gunicorn worker, restarts PostgreSQL and restarts one instance during the run.
Exits 1 on any invariant violation or a missed target (p95 topic push ≤ 0.5 s and page ≤ 100 ms, both
without faults).

    python bench/load.py [--seconds 60] [--pushers 8] [--approvers 4] [--warmup 5] [--faults]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from tests.support.git import git, make_repo, no_git_env
from tests.support.gunicorn import Gunicorn
from tests.support.plant import Plant, free_port, make_plant, password
from tests.support.proxy import TcpProxy
from tests.support.service import HOOK_TOKEN, service_env

PG_BIN = Path("/usr/lib/postgresql/15/bin")
TOPIC_P95_S, PAGE_P95_MS = 0.5, 100.0


class ThrowawayPostgres:
    """A private PostgreSQL 15 cluster in a temp folder, on 127.0.0.1 with trust auth, run as ``postgres``."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gk-bench-pg-"))
        self.data, self.port = self.dir / "data", free_port()
        shutil.chown(self.dir, "postgres", "postgres")

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        proc = subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                              timeout=timeout, cwd="/")
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def start(self) -> ThrowawayPostgres:
        if not (PG_BIN / "initdb").exists():
            raise SystemExit("load bench: PostgreSQL 15 binaries not found (apt-get install postgresql-15)")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--no-sync")
        self._ctl("start")
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE gatekeeper")
        return self

    def _ctl(self, action: str) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=200"
        extra = ["-m", "fast"] if action in ("stop", "restart") else []
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "pg.log"), "-w",
                          "-o", opts, *extra, action)

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        try:
            self._ctl("stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/gatekeeper"


# -- the workers (separate processes) -------------------------------------------------------------------
def pusher(idx: int, plant: Plant, bare: Path, deadline: float, opened: Any, approved: Any, deploy_lock: Any,
           results: Any) -> None:
    work = plant.dir / f"pusher-{idx}"
    git(plant.dir, "clone", "-q", str(bare), str(work))
    for key, value in (("user.name", "Alice Engineer"), ("user.email", "alice@plant.example")):
        git(work, "config", key, value)
    env = no_git_env({"GATEKEEPER_HOOK_TOKEN": HOOK_TOKEN, "GATEKEEPER_USER": "alice"})
    out: list[dict[str, Any]] = []
    mine: dict[int, str] = {}  # CR id -> topic branch
    n = 0
    while time.time() < deadline:
        try:
            cid = approved.get_nowait()
        except queue.Empty:
            cid = None
        if cid is not None and cid in mine:
            out.append(_deploy(work, env, mine.pop(cid), cid, deploy_lock))
            continue
        n += 1
        branch = f"p{idx}-{n}"
        git(work, "fetch", "-q", "origin", "main")
        git(work, "checkout", "-q", "-B", branch, "origin/main")
        (work / "cfg" / f"p{idx}").mkdir(parents=True, exist_ok=True)
        (work / "cfg" / f"p{idx}" / f"unit{n}.txt").write_text(f"setpoint {n}\n")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", f"unit {idx}.{n}", env=env)
        res = _push(work, env, f"HEAD:refs/heads/{branch}", "topic")
        m = re.search(r"change request (\d+) (opened|revised)", res["text"])
        if m:
            mine[int(m.group(1))] = branch
            opened.put((int(m.group(1)), idx))
        else:
            res["ok"] = False
        out.append(res)
    results.put(out)


def _push(work: Path, env: dict[str, str], refspec: str, kind: str) -> dict[str, Any]:
    t = time.perf_counter()
    proc = subprocess.run(["git", "push", "--porcelain", "origin", refspec], cwd=work, env=env,
                          capture_output=True, text=True)
    took = time.perf_counter() - t
    text = "\n".join(ln.split("gatekeeper: ", 1)[1] for ln in proc.stderr.splitlines() if "gatekeeper: " in ln)
    return {"kind": kind, "t": time.time(), "s": took, "ok": proc.returncode == 0, "text": text}


def _deploy(work: Path, env: dict[str, str], branch: str, cid: int, lock: Any) -> dict[str, Any]:
    """Rebase the approved topic onto main (the patch, hence the fingerprint, is unchanged) and push it."""
    with lock:  # one deployment at a time: otherwise most would race and be refused as non-fast-forward
        git(work, "fetch", "-q", "origin", "main")
        git(work, "checkout", "-q", branch)
        if subprocess.run(["git", "rebase", "-q", "origin/main"], cwd=work, env=env,
                          capture_output=True).returncode != 0:
            subprocess.run(["git", "rebase", "--abort"], cwd=work, env=env, capture_output=True)
            return {"kind": "protected", "t": time.time(), "s": 0.0, "ok": False, "text": "rebase failed",
                    "cid": cid}
        res = _push(work, env, "HEAD:refs/heads/main", "protected")
        res["sha"] = git(work, "rev-parse", "HEAD")
    res["cid"] = cid
    return res


def approver(idx: int, urls: list[str], deadline: float, opened: Any, approved: dict[int, Any],
             results: Any) -> None:
    user = ("carol", "gina")[idx % 2]
    sessions = [_signed_in(u, user) for u in urls]
    out: list[dict[str, Any]] = []
    k = 0
    while time.time() < deadline:
        try:
            cid, owner = opened.get(timeout=0.5)
        except queue.Empty:
            continue
        k += 1
        url, page_session = urls[k % 2], sessions[k % 2]
        t = time.perf_counter()
        try:
            page = page_session.get(f"{url}/changes/{cid}", timeout=30)
            out.append({"kind": "page", "t": time.time(), "s": time.perf_counter() - t, "ok": page.status_code == 200,
                        "text": str(page.status_code)})
            if page.status_code in (302, 401):  # signed out by a restart? sign in again
                sessions[k % 2] = page_session = _signed_in(url, user)
            t = time.perf_counter()
            resp = requests.post(f"{urls[(k + 1) % 2]}/api/v1/changes/{cid}/approvals", auth=(user, password(user)),
                                 json={"decision": "approve", "comment": "load"}, timeout=60)
            out.append({"kind": "sign", "t": time.time(), "s": time.perf_counter() - t, "ok": resp.status_code == 201,
                        "text": resp.text[:200]})
            if resp.status_code == 201 and resp.json()["state"] == "approved":
                approved[owner].put(cid)
            elif resp.status_code >= 500:
                opened.put((cid, owner))  # the service was down: try again later
        except requests.RequestException as exc:
            out.append({"kind": "sign", "t": time.time(), "s": time.perf_counter() - t, "ok": False, "text": str(exc)})
            opened.put((cid, owner))
            time.sleep(0.5)
    results.put(out)


def _signed_in(url: str, user: str) -> requests.Session:
    for _ in range(60):
        s = requests.Session()
        try:
            form = s.get(url + "/login", timeout=10).text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
            if token:
                resp = s.post(url + "/login", data={"csrf_token": token.group(1), "username": user,
                                                    "password": password(user)}, allow_redirects=False, timeout=10)
                if resp.status_code == 302:
                    return s
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"cannot sign in at {url}")


# -- the run -----------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--pushers", type=int, default=8)
    ap.add_argument("--approvers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="seconds at the start whose operations are reported apart (every client starts at once)")
    ap.add_argument("--faults", action="store_true", help="kill a worker, restart PostgreSQL and one instance")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("load bench: runs as root (starts its own PostgreSQL cluster as the postgres user)")
    pg = ThrowawayPostgres().start()
    tmp = Path(tempfile.mkdtemp(prefix="gk-load-"))
    procs: list[mp.Process] = []
    hosts: list[Gunicorn] = []
    lb: TcpProxy | None = None
    try:
        plant = make_plant(tmp / "plant", database=pg.url)
        plant.config.write_text(plant.config.read_text().replace(
            "[service]\n", "[service]\nrate_limit_api = 0\nrate_limit_login = 0\n", 1))
        env = service_env()
        hosts = [Gunicorn(plant.config, f"127.0.0.{2 + i}", free_port(), env, threads=args.threads,
                          log=tmp / f"gunicorn-{i}.log") for i in range(2)]
        for h in hosts:
            h.start()
        lb = TcpProxy(("127.0.0.1", plant.port), [(h.host, h.port) for h in hosts]).start()
        repo = make_repo(plant)
        repo.commit({"docs/readme.md": "# load\n"}, "bootstrap")
        assert repo.push("HEAD:refs/heads/main").ok
        started = time.time()
        deadline = started + args.seconds
        ctx = mp.get_context("fork")
        opened, results, lock = ctx.Queue(), ctx.Queue(), ctx.Lock()
        approved = {i: ctx.Queue() for i in range(args.pushers)}
        for i in range(args.pushers):
            procs.append(ctx.Process(target=pusher, args=(i, plant, repo.bare, deadline, opened, approved[i], lock,
                                                          results)))
        urls = [h.url for h in hosts]
        for i in range(args.approvers):
            procs.append(ctx.Process(target=approver, args=(i, urls, deadline, opened, approved, results)))
        for p in procs:
            p.start()
        faults = _inject(args, hosts, pg, started) if args.faults else []
        rows: list[dict[str, Any]] = []
        for _ in procs:
            rows.extend(results.get(timeout=args.seconds + 600))
        for p in procs:
            p.join(30)
        elapsed = time.time() - started
        for h in hosts:
            if h.proc is None or h.proc.poll() is not None:
                h.start()
        return _report(args, plant, repo.bare, rows, started, elapsed, faults)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        if lb is not None:
            lb.stop()
        for h in hosts:
            h.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _inject(args: argparse.Namespace, hosts: list[Gunicorn], pg: ThrowawayPostgres, started: float) -> list[str]:
    """At 25 %, 50 % and 75 % of the run: kill a worker, restart PostgreSQL, restart instance B."""
    done: list[str] = []
    plan = [(0.25, "kill a gunicorn worker"), (0.5, "restart PostgreSQL"), (0.75, "restart instance B")]
    for at, what in plan:
        time.sleep(max(0.0, started + at * args.seconds - time.time()))
        t = time.perf_counter()
        if what.startswith("kill"):
            hosts[0].kill_worker()
        elif what.startswith("restart Postgre"):
            pg.restart()
        else:
            hosts[1].stop()
            hosts[1].start()
        done.append(f"{what} at {time.time() - started:.0f} s ({time.perf_counter() - t:.1f} s)")
    return done


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def _report(args: argparse.Namespace, plant: Plant, bare: Path, rows: list[dict[str, Any]], started: float,
            elapsed: float, faults: list[str]) -> int:
    import sqlalchemy

    # Operations started in the warm-up (the first --warmup seconds: every client starts at once, each
    # pusher's first fetch and push in the same instant) are reported apart from the steady state.
    begin = started + args.warmup
    early = [r for r in rows if r["ok"] and r["t"] - r["s"] < begin]
    ok = [r for r in rows if r["ok"] and r["t"] - r["s"] >= begin]
    elapsed -= args.warmup
    topic = [r["s"] for r in ok if r["kind"] == "topic"]
    protected = [r["s"] for r in ok if r["kind"] == "protected"]
    pages = [r["s"] * 1000 for r in ok if r["kind"] == "page"]
    signs = [r for r in ok if r["kind"] == "sign"]
    failed = {k: sum(1 for r in rows if r["kind"] == k and not r["ok"]) for k in ("topic", "protected", "page", "sign")}
    print(f"load: {args.pushers} pushers + {args.approvers} approvers, 2 gunicorn instances x 2 workers x "
          f"{args.threads} threads, "
          f"PostgreSQL 15, {elapsed:.0f} s{' with faults' if faults else ''}")
    for f in faults:
        print(f"  fault: {f}")
    print(f"  pushes/s            {(len(topic) + len(protected)) / elapsed:.2f} "
          f"({len(topic)} topic, {len(protected)} protected)")
    print(f"  topic push          p50 {_pct(topic, 50):.3f} s  p95 {_pct(topic, 95):.3f} s")
    print(f"  protected push      p50 {_pct(protected, 50):.3f} s  p95 {_pct(protected, 95):.3f} s")
    print(f"  signatures/s        {len(signs) / elapsed:.2f} ({len(signs)})")
    print(f"  /changes/<id> page  p50 {_pct(pages, 50):.1f} ms  p95 {_pct(pages, 95):.1f} ms")
    print(f"  not completed       {failed}")
    warm = [r["s"] for r in early if r["kind"] == "topic"]
    print(f"  warm-up             the first {args.warmup:.0f} s, not in the figures above: {len(early)} operations; "
          f"{len(warm)} topic pushes, p95 {_pct(warm, 95):.3f} s")

    violations: list[str] = []
    engine = sqlalchemy.create_engine(plant.database)
    with engine.connect() as conn:
        n, lo, hi = conn.execute(sqlalchemy.text("SELECT count(*), min(seq), max(seq) FROM change_log")).one()
        crs = conn.execute(sqlalchemy.text("SELECT count(*) FROM change_request")).scalar_one()
        opened = conn.execute(sqlalchemy.text("SELECT count(*) FROM change_log WHERE kind = 'change.opened'")
                              ).scalar_one()
        refused_logged = conn.execute(sqlalchemy.text("SELECT count(*) FROM change_log WHERE kind = 'push.refused'")
                                      ).scalar_one()
    engine.dispose()
    if not (lo == 1 and hi == n):
        violations.append(f"log seq not 1..N: {n} entries, seq {lo}..{hi}")
    print(f"  invariant: log seq 1..{hi}, {n} entries: {'ok' if lo == 1 and hi == n else 'VIOLATED'}")
    gk = [sys.executable, "-m", "gatekeeper", "--config", str(plant.config)]
    env = {**os.environ, **service_env()}
    verify = subprocess.run([*gk, "log", "verify"], capture_output=True, text=True, env=env)
    if verify.returncode != 0:
        violations.append("log verify: " + verify.stderr.strip())
    print(f"  invariant: log verify: {'ok' if verify.returncode == 0 else 'VIOLATED ' + verify.stderr.strip()}")
    if crs != opened:
        violations.append(f"{crs} CRs but {opened} change.opened")
    print(f"  invariant: CRs = change.opened: {crs} = {opened}: {'ok' if crs == opened else 'VIOLATED'}")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    rec = subprocess.run([*gk, "audit", "reconcile", "--repo", str(bare), "--branch", "main", "--from", today,
                          "--to", today], capture_output=True, text=True, env=env)
    commits = git(bare, "rev-list", "--first-parent", "--count", "main")
    unmatched = set(re.findall(r"^UNMATCHED ([0-9a-f]+)", rec.stdout, re.M))
    announced = {r.get("sha") for r in rows if r["kind"] == "protected" and r["ok"]
                 and "deployment was not recorded" in r["text"]}
    if rec.returncode != 0:
        violations.append("audit reconcile: " + (rec.stdout + rec.stderr).strip()[-500:])
    print(f"  invariant: every commit on main ({commits}) matched by audit reconcile: "
          f"{'ok' if rec.returncode == 0 else f'VIOLATED: {len(unmatched)} unmatched'}")
    if unmatched:
        silent = unmatched - announced
        print(f"    of which announced by the hook (\"the deployment was not recorded\", post-receive during a "
              f"fault) and caught by reconcile: {len(unmatched & announced)}; silent: {len(silent)}")
        if silent:
            violations.append(f"{len(silent)} commit(s) on main unmatched without the hook saying so")
    gate_refusals = sum(1 for r in rows if r["kind"] == "protected" and not r["ok"] and "refusing" in r["text"]
                        and "cannot check" not in r["text"] and "service" not in r["text"])
    if refused_logged < gate_refusals:
        violations.append(f"{gate_refusals} refusals by the gate but {refused_logged} push.refused entries")
    unchecked = failed["protected"] - gate_refusals
    print(f"  invariant: gate refusals logged: {gate_refusals} seen, {refused_logged} push.refused "
          f"({unchecked} more refused by the hook while the service or database was away, fail closed): "
          f"{'ok' if refused_logged >= gate_refusals else 'VIOLATED'}")
    missed = []
    if not faults:
        if _pct(topic, 95) > TOPIC_P95_S:
            missed.append(f"p95 topic push {_pct(topic, 95):.3f} s > {TOPIC_P95_S} s")
        if _pct(pages, 95) > PAGE_P95_MS:
            missed.append(f"p95 page {_pct(pages, 95):.1f} ms > {PAGE_P95_MS} ms")
    print(json.dumps({"violations": violations, "targets_missed": missed}))
    return 1 if violations or missed else 0


if __name__ == "__main__":
    sys.exit(main())
