"""The gate against a backlog of open CRs (issue 18), on SQLite and PostgreSQL, with the real service.

Prints, for 0, 1,000 and 10,000 other open CRs on ``main``: the pre-receive call deploying one approved
CR (median of 7, HTTP included; target: within +0.05 s of the 0 case) and one real protected push;
how long a topic push takes alone and when started during protected pushes, against the protected
push's own write transaction; and a push opening many CRs at once (linear in the refs).
The backlog is written straight into the store (same rows a topic push writes), so building it is fast.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from gatekeeper import config
from gatekeeper.gitio.hookconfig import load
from gatekeeper.gitio.pushinfo import RefUpdate
from gatekeeper.gitio.receive import PayloadBuilder
from gatekeeper.store.db import Store
from gatekeeper.store.tables import ChangeFile, ChangePath, ChangeRequest, Revision
from tests.support import postgres
from tests.support.git import Repo, git, make_repo, no_git_env
from tests.support.plant import Plant, make_plant
from tests.support.service import HOOK_TOKEN, Service, running

HEADERS = {"Authorization": f"Bearer {HOOK_TOKEN}", "Content-Type": "application/json"}
NOW = "2026-01-01T00:00:00.000000Z"


def add_backlog(db: str, start: int, count: int) -> None:
    """``count`` open CRs on main, each touching its own path (drafts nobody withdrew)."""
    if count <= 0:
        return
    store = Store(db, create=False)
    with store.write() as s:
        crs = [{"repo": "plant-a-ot", "topic_ref": f"refs/heads/draft-{i}", "target": "main", "title": f"d{i}",
                "ticket": "", "state": "pending", "requested_by": "alice", "requested_at": NOW, "categories": "[]",
                "financial": False, "current_revision": 1, "emergency": False, "updated_at": NOW}
               for i in range(start, start + count)]
        s.execute(insert(ChangeRequest), crs)
        ids = [r[0] for r in s.exec(ChangeRequest.__table__.select()  # type: ignore[attr-defined]
                                    .with_only_columns(ChangeRequest.__table__.c.id)  # type: ignore[attr-defined]
                                    .where(ChangeRequest.__table__.c.topic_ref.like("refs/heads/draft-%"))  # type: ignore[attr-defined]
                                    .order_by(ChangeRequest.__table__.c.id.desc()).limit(count)).all()]  # type: ignore[attr-defined]
        s.execute(insert(Revision), [{"change_id": cid, "number": 1, "fingerprint": f"{cid:064x}", "head": "f" * 40,
                                      "base": "e" * 40, "pushed_by": "alice", "pushed_at": NOW, "commits": "[]",
                                      "findings": "[]", "semantic_diff": "[]", "sod_findings": "[]"} for cid in ids])
        revs = dict(s.exec(Revision.__table__.select()  # type: ignore[attr-defined]
                           .with_only_columns(Revision.__table__.c.change_id, Revision.__table__.c.id)  # type: ignore[attr-defined]
                           .where(Revision.__table__.c.change_id.in_(ids))).all())  # type: ignore[attr-defined]
        s.execute(insert(ChangeFile), [{"revision_id": revs[cid], "path": f"drafts/d{cid}.txt", "status": "added",
                                        "old_blob": "0" * 40, "new_blob": "1" * 40, "old_mode": "000000",
                                        "new_mode": "100644", "categories": '["default"]'} for cid in ids])
        s.execute(insert(ChangePath), [{"change_id": cid, "path": f"drafts/d{cid}.txt", "repo": "plant-a-ot",
                                        "target": "main", "revision_id": revs[cid]} for cid in ids])
    store.dispose()


def approved_topic(repo: Repo, svc: Service, name: str) -> str:
    git(repo.work, "checkout", "-q", "-B", name, "main")
    repo.commit({f"cfg/{name}.txt": f"{name}\n"}, name)
    r = repo.push(f"HEAD:refs/heads/{name}")
    assert r.ok, r.stderr
    assert svc.sign(r.change_id(), "carol").status_code == 201
    return repo.head()


def gate_call(svc: Service, data: str) -> float:
    t = time.perf_counter()
    r = requests.post(svc.url + "/api/v1/hooks/pre-receive", data=data, headers=HEADERS, timeout=120)
    elapsed = time.perf_counter() - t
    out = r.json()
    assert out["allow"] is True, r.text
    # Void the intent again (as post-receive does when git did not apply the update) for the next run.
    body = {"repo": "plant-a-ot", "pusher": "alice", "updates": [], "intents": [i["id"] for i in out["intents"]]}
    requests.post(svc.url + "/api/v1/hooks/post-receive", json=body, headers=HEADERS, timeout=120)
    return elapsed


def body_for(plant: Plant, repo: Repo, head: str) -> str:
    cfg = load(str(plant.config))
    cwd = os.getcwd()
    os.chdir(repo.bare)
    try:
        old = git(repo.bare, "rev-parse", "refs/heads/main")
        update = PayloadBuilder(cfg, "plant-a-ot", []).update(RefUpdate(old, head, "refs/heads/main"),
                                                              with_content=False, with_commits=False)
    finally:
        os.chdir(cwd)
    return json.dumps({"repo": "plant-a-ot", "pusher": "alice", "push_options": [], "updates": [update]})


def timed(work: Path, *args: str, user: str = "alice") -> float:
    env = no_git_env({"GATEKEEPER_USER": user, "GATEKEEPER_HOOK_TOKEN": HOOK_TOKEN})
    t = time.perf_counter()
    proc = subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    assert proc.returncode == 0, proc.stderr
    return elapsed


def backlog(label: str, plant: Plant) -> None:
    with running(plant) as svc:
        repo = make_repo(plant)
        repo.checkout("boot", create=True)
        repo.commit({"cfg/boot.txt": "boot\n"}, "boot")
        cid = repo.push("HEAD:refs/heads/boot").change_id()
        assert svc.sign(cid, "carol").status_code == 201
        assert repo.push("HEAD:refs/heads/main").ok
        git(repo.work, "checkout", "-q", "-B", "main")
        have, base = 0, None
        for n in (0, 1000, 10000):
            add_backlog(plant.database, have, n - have)
            have = n
            head = approved_topic(repo, svc, f"level-{n}")
            data = body_for(plant, repo, head)
            calls = statistics.median(gate_call(svc, data) for _ in range(7))
            base = calls if base is None else base
            git(repo.work, "checkout", "-q", "main")
            git(repo.work, "merge", "-q", "--ff-only", f"level-{n}")
            push = timed(repo.work, "push", "-q", "origin", "main")
            print(f"{label}: {n:>6} other open CRs: gate call {calls:.3f} s (+{calls - base:.3f} s vs 0; "
                  f"target <= +0.050 s), real protected push {push:.3f} s")
        contention(label, plant, repo, svc)


def contention(label: str, plant: Plant, repo: Repo, svc: Service) -> None:
    """A topic push and a signature alone, and started just after a protected push's gate call began."""
    def topic_push(i: int) -> float:
        git(repo.work, "checkout", "-q", "-B", f"t-{i}", "main")
        repo.commit({f"cfg/t{i}.txt": f"{i}\n"}, f"t{i}")
        return timed(repo.work, "push", "-q", "origin", f"HEAD:refs/heads/t-{i}")

    def signature(cid: int) -> float:
        t = time.perf_counter()
        assert svc.sign(cid, "carol").status_code == 201
        return time.perf_counter() - t

    def during(action: object, arg: int) -> float:
        thread = threading.Thread(target=gate_call, args=(svc, data))
        thread.start()
        time.sleep(0.005)
        elapsed = action(arg)  # type: ignore[operator]
        thread.join()
        return elapsed

    head = approved_topic(repo, svc, "busy")
    data = body_for(plant, repo, head)
    pending = []
    for i in range(6):
        git(repo.work, "checkout", "-q", "-B", f"s-{i}", "main")
        repo.commit({f"cfg/s{i}.txt": f"{i}\n"}, f"s{i}")
        pending.append(repo.push(f"HEAD:refs/heads/s-{i}").change_id())
    topic_alone = statistics.median(topic_push(i) for i in range(3))
    topic_during = statistics.median(during(topic_push, 10 + i) for i in range(3))
    sign_alone = statistics.median(signature(cid) for cid in pending[:3])
    sign_during = statistics.median(during(signature, cid) for cid in pending[3:])
    calls = [gate_call(svc, data) for _ in range(3)]
    # The protected push's own write: the decision's transaction, timed in-process on the same database.
    from gatekeeper.actions import push as actions
    from gatekeeper.actions.context import Services
    from gatekeeper.actions.payloads import HookRequest
    from gatekeeper.directory import open_directory

    cfg = config.load(plant.config)
    store = Store(cfg.service.database, create=False)
    held: list[float] = []
    original = store.write

    def timed_write():  # type: ignore[no-untyped-def]
        from contextlib import contextmanager

        @contextmanager
        def cm():  # type: ignore[no-untyped-def]
            with original() as s:
                t = time.perf_counter()
                yield s
            held.append(time.perf_counter() - t)
        return cm()

    store.write = timed_write  # type: ignore[method-assign]
    services = Services(cfg, store, open_directory(cfg))
    out = actions.decide_push(services, HookRequest.model_validate(json.loads(data)))
    actions.record_push(services, HookRequest.model_validate(
        {"repo": "plant-a-ot", "updates": [], "intents": [i["id"] for i in out["intents"]]}))
    store.dispose()
    print(f"{label}, 10,000 open CRs: topic push alone {topic_alone:.3f} s, started during a protected push "
          f"{topic_during:.3f} s (+{topic_during - topic_alone:.3f} s); signature alone {sign_alone:.3f} s, during "
          f"{sign_during:.3f} s (+{sign_during - sign_alone:.3f} s); the protected push's gate call "
          f"{statistics.median(calls):.3f} s, of which its write transaction {held[0] * 1000:.1f} ms")


def many_refs(plant: Plant) -> None:
    """One push opening N CRs (N topic refs): time per ref should not grow with N."""
    with running(plant):
        repo = make_repo(plant)
        git(repo.work, "checkout", "-q", "-b", "main")
        repo.commit({"docs/base.md": "base\n"}, "base")
        for n in (250, 2000):
            refs = [f"{n}-{i}" for i in range(n)]
            # one commit per ref, built with plumbing (fast), each touching its own file
            base = repo.head()
            tree = git(repo.work, "rev-parse", "HEAD^{tree}")
            lines = []
            for name in refs:
                sha = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.work, input=name.encode(),
                                     capture_output=True, check=True).stdout.decode().strip()
                mk = subprocess.run(["git", "mktree"], cwd=repo.work, capture_output=True, check=True,
                                    input=(git(repo.work, "ls-tree", tree) + f"\n100644 blob {sha}\tcfg-{name}.txt\n"
                                           ).encode()).stdout.decode().strip()
                env = no_git_env({"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "alice@plant.example",
                                  "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "alice@plant.example"})
                commit = subprocess.run(["git", "commit-tree", mk, "-p", base, "-m", name], cwd=repo.work, env=env,
                                        capture_output=True, check=True, text=True).stdout.strip()
                lines.append(f"{commit}:refs/heads/many-{name}")
            t = timed(repo.work, "push", "-q", "origin", *lines)
            print(f"one push opening {n} change requests: {t:.1f} s ({t / n * 1000:.1f} ms per ref)")


def main() -> None:
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        tmp = Path(d)
        backlog("SQLite", make_plant(tmp / "sqlite"))
        server = postgres.start_server()
        name = postgres.create_database(server, "gate_backlog")
        try:
            backlog("PostgreSQL", make_plant(tmp / "pg", database=server.url(name)))
        finally:
            postgres.drop_database(server, name)
            postgres.stop_server(server)
        many_refs(make_plant(tmp / "many"))


if __name__ == "__main__":
    main()
