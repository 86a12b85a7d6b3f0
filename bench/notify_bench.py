"""Notification outbox figures (issue 14): delivery throughput through the outbox to a real local SMTP
server (STARTTLS + AUTH) and a real HTTP receiver that verifies every Standard Webhooks signature; the
cost the outbox adds to a log append (the same transaction); and a topic push with and without
``[notify]`` (target: no added cost on the hook path — the hooks do no notification work)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper.ledger import events as ev
from gatekeeper.notify.worker import Worker
from gatekeeper.store import log
from tests.notify.conftest import SMTP_PASSWORD_ENV, WEBHOOK_SECRET, WEBHOOK_SECRET_ENV, notify_policy, services_of
from tests.support import smtp
from tests.support.git import git, make_repo, no_git_env
from tests.support.http_receiver import Receiver
from tests.support.plant import POLICY, make_plant
from tests.support.service import HOOK_TOKEN, running

EVENTS = 300


def append_many(svc: object, n: int) -> float:
    """Seconds per ``push.refused`` append, n appends in n transactions (as n pushes would)."""
    t = time.perf_counter()
    for i in range(n):
        with svc.store.write() as s:  # type: ignore[attr-defined]
            log.append(s, ev.PushRefused(repo="plant-a-ot", pusher="alice", refused_at=str(i)), "alice")
    return (time.perf_counter() - t) / n


def throughput(root: Path, server: smtp.SmtpServer, receiver: Receiver, *, mail: bool, hook: bool) -> str:
    policy = notify_policy(smtp_server=server if mail else None,
                           webhooks=[("soc", "standard", receiver.url)] if hook else [])
    svc = services_of(make_plant(root, policy=policy))
    append_many(svc, EVENTS)
    t = time.perf_counter()
    stats = Worker(svc).run_once()
    elapsed = time.perf_counter() - t
    assert stats.dead == 0 and stats.failed == 0, stats.errors
    return f"{stats.sent} messages in {elapsed:.2f} s = {stats.sent / elapsed:,.0f} messages/s"


def alternating_pushes(root: Path, policies: dict[str, str], env: dict[str, str], n: int = 10) -> dict[str, float]:
    """Median topic-push time per policy, the services running side by side and pushes alternating, so
    load from the rest of the machine hits both alike."""
    plants = {name: make_plant(root / name, policy=policy) for name, policy in policies.items()}
    repos = {name: make_repo(plant) for name, plant in plants.items()}
    times: dict[str, list[float]] = {name: [] for name in plants}
    push_env = no_git_env({"GATEKEEPER_USER": "alice", "GATEKEEPER_HOOK_TOKEN": HOOK_TOKEN})
    with running(plants["without"], env=env), running(plants["with"], env=env):
        for i in range(n + 1):
            for name, repo in repos.items():
                repo.checkout(f"topic-{i}", create=True)
                repo.commit({f"tags/line{i}.txt": f"TT-{i}.high = {80 + i}\n"}, f"tag {i}")
                t = time.perf_counter()
                proc = subprocess.run(["git", "push", "-q", "origin", f"HEAD:refs/heads/topic-{i}"], cwd=repo.work,
                                      env=push_env, capture_output=True)
                if proc.returncode:
                    raise SystemExit(proc.stderr.decode())
                if i:  # the first push warms each service up
                    times[name].append(time.perf_counter() - t)
    git(repos["with"].work, "status")
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    os.environ.update({SMTP_PASSWORD_ENV: smtp.PASSWORD, WEBHOOK_SECRET_ENV: WEBHOOK_SECRET})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = smtp.start(root / "smtp", "starttls")
        receiver = Receiver(secret=WEBHOOK_SECRET).start()
        try:
            print(f"delivery, e-mail only (STARTTLS + AUTH, one connection per round): "
                  f"{throughput(root / 'a', server, receiver, mail=True, hook=False)}")
            print(f"delivery, Standard Webhooks only (signed, verified by the receiver): "
                  f"{throughput(root / 'b', server, receiver, mail=False, hook=True)}")
            print(f"delivery, both channels: {throughput(root / 'c', server, receiver, mail=True, hook=True)}")
            assert all(r.verified for r in receiver.requests)
            plain = services_of(make_plant(root / "d"))
            with_outbox = services_of(make_plant(root / "e", policy=notify_policy(
                smtp_server=server, webhooks=[("soc", "standard", receiver.url)])))
            base, added = append_many(plain, 500), append_many(with_outbox, 500)
            print(f"log append (own transaction): {base * 1000:.2f} ms without [notify], {added * 1000:.2f} ms with "
                  f"(+{(added - base) * 1000:.2f} ms for the outbox rows, in the same transaction)")
            env = {SMTP_PASSWORD_ENV: smtp.PASSWORD, WEBHOOK_SECRET_ENV: WEBHOOK_SECRET}
            full = notify_policy(smtp_server=server, webhooks=[("soc", "standard", receiver.url)])
            medians = alternating_pushes(root / "push", {
                "without": POLICY, "with": full.replace("interval_seconds = 0.2", "interval_seconds = 15")}, env)
            print(f"topic push (real git push through both hooks and the service, median of 10, alternating): "
                  f"{medians['without'] * 1000:.0f} ms without [notify], {medians['with'] * 1000:.0f} ms with "
                  "(the hook processes do no notification work; the service adds the outbox insert)")
        finally:
            server.stop()
            receiver.stop()


if __name__ == "__main__":
    main()
