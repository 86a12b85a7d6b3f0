"""``gatekeeper notify run --once`` / ``notify status`` in their own processes: a delivery enqueued by one
process is sent by another (state is in the database, so it survives restarts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notify.conftest import WEBHOOK_SECRET, WEBHOOK_SECRET_ENV, notify_policy, plant_with, services_of
from tests.notify.test_worker import refuse
from tests.support.git import gatekeeper
from tests.support.http_receiver import Receiver
from tests.support.plant import make_plant


def test_run_once_delivers_what_is_due(tmp_path: Path, receiver: Receiver, notify_env: dict[str, str]) -> None:
    plant = plant_with(tmp_path, notify_policy(webhooks=[("soc", "standard", receiver.url)]))
    svc = services_of(plant)
    refuse(svc)
    refuse(svc, "bob")
    svc.store.dispose()
    env = {WEBHOOK_SECRET_ENV: WEBHOOK_SECRET}
    status = gatekeeper(plant, "notify", "status", env=env)
    assert (status.returncode, status.stdout) == (0, "pending: 2\n")
    run = gatekeeper(plant, "notify", "run", "--once", env=env)
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() == "gatekeeper: notify: sent 2, retrying 0, dead 0, skipped 0, reminders 0"
    assert len(receiver.ids()) == 2 and all(r.verified for r in receiver.requests)
    again = gatekeeper(plant, "notify", "run", "--once", env=env)
    assert again.returncode == 0 and "sent 0" in again.stderr and len(receiver.requests) == 2
    assert gatekeeper(plant, "notify", "status", env=env).stdout == "sent: 2\n"


def test_missing_secret_and_dead_deliveries_exit_non_zero(tmp_path: Path, receiver: Receiver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WEBHOOK_SECRET_ENV, raising=False)
    plant = plant_with(tmp_path, notify_policy(webhooks=[("soc", "standard", receiver.url)])
                       .replace("max_attempts = 5", "max_attempts = 1"))
    refuse(services_of(plant))
    run = gatekeeper(plant, "notify", "run", "--once")  # GK_WEBHOOK_SECRET not in this process's environment
    assert run.returncode == 1
    assert "environment variable GK_WEBHOOK_SECRET is not set" in run.stderr and "Traceback" not in run.stderr
    assert receiver.requests == []
    assert gatekeeper(plant, "notify", "status").returncode == 1  # something is dead


def test_without_notify_config_it_says_so(tmp_path: Path) -> None:
    plant = make_plant(tmp_path / "plain")
    run = gatekeeper(plant, "notify", "run", "--once")
    assert run.returncode == 2
    assert run.stderr.strip().endswith("notify: nothing to deliver: the policy has no [notify.smtp], "
                                       "[[notify.webhooks]] or [itsm]")
