"""Claims are exclusive across concurrent workers, on SQLite (BEGIN IMMEDIATE) and on the real
PostgreSQL 15 (FOR UPDATE SKIP LOCKED); and the outbox fills in the log writer's transaction."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from gatekeeper.clock import fixed
from gatekeeper.ledger import events as ev
from gatekeeper.notify import outbox
from gatekeeper.notify.worker import Worker
from gatekeeper.period import format_ts
from gatekeeper.store import log
from tests.notify.conftest import notify_policy, services_of
from tests.support.http_receiver import Receiver
from tests.support.plant import make_plant
from tests.support.postgres import db_url, pg_database, pg_server, pg_url  # noqa: F401  (fixtures)


def test_concurrent_claims_never_share_a_row_and_all_get_delivered(
        tmp_path: Path, db_url: str, receiver: Receiver, notify_env: dict[str, str]) -> None:  # noqa: F811
    plant = make_plant(tmp_path / "plant", database=db_url,
                       policy=notify_policy(webhooks=[("soc", "standard", receiver.url)]))
    svc = services_of(plant)
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with svc.store.write() as s:
        for i in range(30):
            log.append(s, ev.PushRefused(repo="plant-a-ot", pusher="alice", refused_at=str(i)), "alice",
                       ts=format_ts(now))
    taken: list[list[int]] = []
    lock, start, each_has_one = threading.Lock(), threading.Barrier(4), threading.Barrier(4, timeout=60)

    def claimer() -> None:
        mine: list[int] = []
        start.wait()
        while batch := outbox.claim(svc.store, now, 3, lease=60):
            mine.extend(d.id for d in batch)
            if len(mine) == len(batch):  # "sending" the first batch: wait until every claimer holds one
                each_has_one.wait()
        with lock:
            taken.append(mine)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for mine in taken for i in mine]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert all(taken) and len(taken) == 4  # they really ran side by side
    # released (as if their lease ran out): two workers deliver everything exactly once between them
    with svc.store.write() as s:
        s.connection().exec_driver_sql("UPDATE notify_outbox SET state = 'pending', next_at = created_at")
    workers = [threading.Thread(target=Worker(services_of(plant), clock=fixed(now)).run_once) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    counts = receiver.ids()
    assert len(counts) == 30 and set(counts.values()) == {1}
    with svc.store.read() as s:
        assert outbox.counts(s) == {"sent": 30}
        assert sum(1 for e in log.entries(s) if e.kind == "notify.sent") == 30
    svc.store.dispose()
