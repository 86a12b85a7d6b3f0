"""The outbox and its worker against real receivers: a signing HTTP receiver and a real SMTP server.

Events are real log entries appended through ``store.log.append`` (the only writer), so the outbox
rows come from the same code path as in production.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from gatekeeper.actions.context import Services
from gatekeeper.ledger import events as ev
from gatekeeper.notify import outbox
from gatekeeper.notify.worker import Worker
from gatekeeper.period import format_ts
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeLog, ChangeRequest, NotifyOutbox, NotifyPref, Revision
from tests.notify.conftest import WEBHOOK_SECRET, notify_policy, plant_with, services_of
from tests.support import smtp
from tests.support.http_receiver import Receiver

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # "now" for the tests that judge time: never the wall clock


def refuse(svc: Services, pusher: str = "alice", fail_after: bool = False, at: datetime | None = None) -> int:
    """A ``push.refused`` entry, as ``decide_push`` writes it (at ``at``, so due times are known)."""
    with svc.store.write() as s:
        entry = log.append(s, ev.PushRefused(repo="plant-a-ot", pusher=pusher, refs=(ev.RefOutcome(
            ref="refs/heads/main", reasons=(ev.Reason("approval.missing", "refusing refs/heads/main: tags/a.txt "
                                                      "(scada-tags) lacks 1 approval"),)),)), pusher,
                           ts=format_ts(at) if at else None)
        if fail_after:
            raise RuntimeError("the business write failed after the append")
    return entry.seq


def rows(svc: Services) -> list[NotifyOutbox]:
    with svc.store.read() as s:
        return list(s.exec(select(NotifyOutbox).order_by(col(NotifyOutbox.id))).all())


def entries(svc: Services, kind: str) -> list[dict[str, Any]]:
    with svc.store.read() as s:
        return [json.loads(e.payload) for e in s.exec(select(ChangeLog).where(ChangeLog.kind == kind)).all()]


def test_retries_timeouts_and_stable_ids(tmp_path: Any, receiver: Receiver, notify_env: dict[str, str]) -> None:
    """500, 500, a timeout, then success: four attempts, one id, every attempt signed; one ``notify.sent``."""
    receiver.script = [500, 500, "timeout"]
    receiver.silence = 1.5
    plant = plant_with(tmp_path, notify_policy(webhooks=[("soc", "standard", receiver.url + "/hook")]))
    svc = services_of(plant)
    seq = refuse(svc)
    worker = Worker(svc)
    stats = worker.run_once()
    assert stats.sent == 1 and stats.dead == 0, stats.errors
    assert [e.split(": ", 1)[1] for e in stats.errors] == ["webhook soc: HTTP 500", "webhook soc: HTTP 500",
                                                           "webhook soc: no answer within 1 s"]
    ids = receiver.ids()
    assert len(ids) == 1 and list(ids.values()) == [4]  # at least once, same id every time
    assert all(r.verified for r in receiver.requests)
    body = receiver.requests[-1].json()
    assert body["type"] == "push.refused" and body["data"]["repo"] == "plant-a-ot"
    assert set(body["data"]) >= {"change_id", "url", "repo", "target", "title", "state"}
    [row] = rows(svc)
    assert (row.state, row.attempts, row.log_seq) == ("sent", 4, seq)
    [sent] = entries(svc, "notify.sent")
    assert sent == {"delivery_id": ids.most_common(1)[0][0], "event": "push.refused", "channel": "webhook",
                    "recipient": "soc", "change_id": None, "event_seq": seq, "attempts": 4}
    # notify.* entries enqueue nothing, and a second run sends nothing again
    assert len(rows(svc)) == 1 and worker.run_once().sent == 0 and len(receiver.requests) == 4
    assert WEBHOOK_SECRET not in json.dumps(entries(svc, "notify.sent")) and receiver.url not in json.dumps(sent)


def test_dead_after_max_attempts_is_logged_without_secrets(tmp_path: Any, receiver: Receiver,
                                                           notify_env: dict[str, str]) -> None:
    receiver.script = [500] * 10
    plant = plant_with(tmp_path, notify_policy(webhooks=[("soc", "standard", receiver.url + "/secret-path")],
                                               notify="").replace("max_attempts = 5", "max_attempts = 3"))
    svc = services_of(plant)
    refuse(svc)
    stats = Worker(svc).run_once()
    assert (stats.sent, stats.dead) == (0, 1) and len(receiver.requests) == 3
    [row] = rows(svc)
    assert row.state == "dead" and row.attempts == 3
    [failed] = entries(svc, "notify.failed")
    assert failed["recipient"] == "soc" and failed["error"] == "webhook soc: HTTP 500" and failed["attempts"] == 3
    assert "secret-path" not in json.dumps(failed)


def test_backoff_is_exponential(tmp_path: Any, receiver: Receiver, notify_env: dict[str, str]) -> None:
    receiver.script = [500, 500, 500]
    plant = plant_with(tmp_path, notify_policy(webhooks=[("soc", "standard", receiver.url)])
                       .replace("backoff_seconds = 0", "backoff_seconds = 10"))
    svc = services_of(plant)
    refuse(svc, at=T0)
    clock = [T0]
    worker = Worker(svc, clock=lambda: clock[0])
    waits = []
    for _ in range(3):
        worker.run_once()
        [row] = rows(svc)
        due = datetime.fromisoformat(row.next_at.replace("Z", "+00:00"))
        waits.append(round((due - clock[0]).total_seconds()))
        clock[0] = due - timedelta(seconds=1)
        assert worker.run_once().sent == 0 and len(receiver.requests) == len(waits)  # not due yet
        clock[0] = due
    assert waits == [10, 20, 40]
    assert worker.run_once().sent == 1


def test_outbox_rows_commit_with_their_log_entry_or_not_at_all(tmp_path: Any, receiver: Receiver,
                                                                notify_env: dict[str, str]) -> None:
    plant = plant_with(tmp_path, notify_policy(webhooks=[("soc", "standard", receiver.url)]))
    svc = services_of(plant)
    with pytest.raises(RuntimeError):
        refuse(svc, fail_after=True)
    assert rows(svc) == []
    with svc.store.read() as s:
        assert s.exec(select(ChangeLog)).all() == []


def test_a_crashed_worker_s_claim_is_taken_over_after_its_lease(tmp_path: Any, receiver: Receiver,
                                                                notify_env: dict[str, str]) -> None:
    """A worker claims and dies before sending; after the lease another one delivers, same id."""
    plant = plant_with(tmp_path, notify_policy(webhooks=[("soc", "standard", receiver.url)]))
    svc = services_of(plant)
    refuse(svc, at=T0)
    now = T0
    [claimed] = outbox.claim(svc.store, now, 10, lease=60)
    assert outbox.claim(svc.store, now, 10, lease=60) == []  # nobody else gets it meanwhile
    assert Worker(svc, clock=lambda: now + timedelta(seconds=30)).run_once().sent == 0
    stats = Worker(services_of(plant), clock=lambda: now + timedelta(seconds=61)).run_once()  # "after a restart"
    assert stats.sent == 1
    assert list(receiver.ids()) == [claimed.delivery_id]


def test_webhook_repos_and_events_filter(tmp_path: Any, receiver: Receiver, notify_env: dict[str, str]) -> None:
    policy = notify_policy() + (f'\n[[notify.webhooks]]\nname = "other"\nurl = "{receiver.url}"\nkind = "slack"\n'
                                'events = ["push.refused"]\nrepos = ["plant-b"]\n'
                                f'\n[[notify.webhooks]]\nname = "deploys"\nurl = "{receiver.url}"\nkind = "teams"\n'
                                'events = ["change.deployed"]\n'
                                f'\n[[notify.webhooks]]\nname = "refusals"\nurl = "{receiver.url}"\nkind = "slack"\n'
                                'events = ["push.refused"]\nrepos = ["plant-a-ot"]\n')
    svc = services_of(plant_with(tmp_path, policy))
    refuse(svc)
    assert [(r.channel, r.target) for r in rows(svc)] == [("webhook", "refusals")]
    assert Worker(svc).run_once().sent == 1
    slack = receiver.requests[0].json()
    assert slack["text"].startswith("Push to plant-a-ot refused") and slack["blocks"][0]["type"] == "section"


# -- e-mail ---------------------------------------------------------------------------------------------------
def test_mail_over_starttls_with_auth(tmp_path: Any, smtp_server: smtp.SmtpServer,
                                      notify_env: dict[str, str]) -> None:
    svc = services_of(plant_with(tmp_path, notify_policy(smtp_server=smtp_server)))
    smtp_server.clear()
    seq = refuse(svc, "alice")
    stats = Worker(svc).run_once()
    assert stats.sent == 1, stats.errors
    [mail] = smtp_server.to("alice@plant.example")
    assert mail.login == smtp.USER and mail.mail_from == "gatekeeper@plant.example"
    assert mail.message["Subject"] == "[Gatekeeper] Push to plant-a-ot refused"
    assert mail.message["X-Gatekeeper-Delivery"].startswith("msg_")
    assert "Hello Alice Engineer," in mail.text and "lacks 1 approval" in mail.text
    assert "<h2>Push to plant-a-ot refused</h2>" in mail.html
    assert [(r.channel, r.target, r.state) for r in rows(svc)] == [("email", "*", "expanded"),
                                                                   ("email", "alice", "sent")]
    [sent] = entries(svc, "notify.sent")
    assert (sent["recipient"], sent["channel"], sent["event_seq"]) == ("alice", "email", seq)
    assert smtp.PASSWORD not in json.dumps(entries(svc, "notify.sent"))


def test_mail_over_implicit_tls(tmp_path: Any, notify_env: dict[str, str]) -> None:
    server = smtp.start(tmp_path / "ssl", "ssl")
    try:
        svc = services_of(plant_with(tmp_path, notify_policy(smtp_server=server)))
        refuse(svc, "bob")
        assert Worker(svc).run_once().sent == 1
        assert len(server.to("bob@plant.example")) == 1
    finally:
        server.stop()


def test_wrong_smtp_password_fails_clearly_and_is_retried(tmp_path: Any, smtp_server: smtp.SmtpServer,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          notify_env: dict[str, str]) -> None:
    monkeypatch.setenv("GK_SMTP_PASSWORD", "wrong-password")
    svc = services_of(plant_with(tmp_path, notify_policy(smtp_server=smtp_server)
                                 .replace("max_attempts = 5", "max_attempts = 2")))
    refuse(svc)
    stats = Worker(svc).run_once()
    assert stats.dead == 1 and stats.errors[0].endswith(f"SMTP AUTH refused for {smtp.USER} (535)"), stats.errors
    [failed] = entries(svc, "notify.failed")
    assert "wrong-password" not in json.dumps(failed)


def test_opt_out_and_daily_digest(tmp_path: Any, smtp_server: smtp.SmtpServer, notify_env: dict[str, str]) -> None:
    svc = services_of(plant_with(tmp_path, notify_policy(smtp_server=smtp_server)))
    smtp_server.clear()
    with svc.store.write() as s:
        s.add(NotifyPref(username="alice", opt_out=True))
        s.add(NotifyPref(username="bob", digest=True))
    refuse(svc, "alice", at=T0)
    refuse(svc, "bob", at=T0)
    refuse(svc, "bob", at=T0)
    morning = (T0 + timedelta(days=1)).replace(hour=3)  # after the events, before the digest hour
    worker = Worker(svc, clock=lambda: morning)
    worker.run_once()
    assert smtp_server.to("alice@plant.example") == [] and smtp_server.to("bob@plant.example") == []
    assert sorted(r.state for r in rows(svc) if r.target == "bob") == ["held", "held"]
    later = morning.replace(hour=8)
    Worker(svc, clock=lambda: later).run_once()
    Worker(svc, clock=lambda: later + timedelta(minutes=5)).run_once()  # once a day, not once a round
    [digest] = smtp_server.to("bob@plant.example")
    assert digest.message["Subject"] == "[Gatekeeper] Daily digest: 2 notifications"
    assert digest.text.count("Push to plant-a-ot refused") == 2
    refuse(svc, "bob", at=later + timedelta(minutes=6))  # after today's digest: held for tomorrow's
    Worker(svc, clock=lambda: later + timedelta(minutes=10)).run_once()
    assert len(smtp_server.to("bob@plant.example")) == 1
    Worker(svc, clock=lambda: later + timedelta(days=1)).run_once()
    assert len(smtp_server.to("bob@plant.example")) == 2


def test_retro_reminders_are_enqueued_once_each(tmp_path: Any, smtp_server: smtp.SmtpServer,
                                                notify_env: dict[str, str]) -> None:
    svc = services_of(plant_with(tmp_path, notify_policy(smtp_server=smtp_server)))
    smtp_server.clear()
    now = T0
    deadline = (now + timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with svc.store.write() as s:
        cr = ChangeRequest(repo="plant-a-ot", topic_ref="refs/heads/main", target="main", title="Hotfix",
                           state="emergency", requested_by="erin", requested_at=format_ts(now), emergency=True,
                           emergency_reason="trip", emergency_deadline=deadline, current_revision=1,
                           categories='["scada-tags"]')
        s.add(cr)
        s.flush()
        s.add(Revision(change_id=cr.id or 0, number=1, fingerprint="0" * 64, head="1" * 40, base="2" * 40,
                       pushed_by="erin", pushed_at=format_ts(now)))
    early = Worker(svc, clock=lambda: now - timedelta(hours=20))
    assert early.reminders(now - timedelta(hours=20)) == 0  # 30 h before the deadline: nothing yet
    worker = Worker(svc, clock=lambda: now)
    assert worker.run_once().reminders == 1
    assert worker.run_once().reminders == 0  # idempotent
    due = {m.rcpt_tos[0] for m in smtp_server.received}
    assert due == {"erin@plant.example", "frank@plant.example"}  # the emergency group and the admins
    assert all("due within 24 hours" in m.message["Subject"] for m in smtp_server.received)
    late = Worker(svc, clock=lambda: now + timedelta(hours=11))
    assert late.run_once().reminders == 1 and late.run_once().reminders == 0
    overdue = [m for m in smtp_server.received if "OVERDUE" in m.message["Subject"]]
    assert len(overdue) == 2
