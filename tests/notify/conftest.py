"""Fixtures for the notification tests: a real SMTP server (session), real HTTP receivers, a plant
whose policy has ``[notify]`` (and optionally ``[itsm]``), and the in-process services the worker uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatekeeper import config
from gatekeeper.actions.context import Services
from gatekeeper.bootstrap import open_store
from gatekeeper.directory import open_directory
from tests.support import smtp
from tests.support.http_receiver import Receiver
from tests.support.plant import POLICY, Plant, make_plant

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SMTP_PASSWORD_ENV = "GK_SMTP_PASSWORD"
WEBHOOK_SECRET_ENV = "GK_WEBHOOK_SECRET"


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[smtp.SmtpServer]:
    server = smtp.start(tmp_path_factory.mktemp("smtp"), "starttls")
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(secret=WEBHOOK_SECRET).start()
    yield r
    r.stop()


@pytest.fixture
def notify_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {SMTP_PASSWORD_ENV: smtp.PASSWORD, WEBHOOK_SECRET_ENV: WEBHOOK_SECRET}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def notify_policy(*, smtp_server: smtp.SmtpServer | None = None, webhooks: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
                  notify: str = "", extra: str = "", categories: dict[str, str] | None = None) -> str:
    """The test plant's policy plus ``[notify]`` tables; ``webhooks`` are ``(name, kind, url)``."""
    text = POLICY
    for old, new in (categories or {}).items():
        text = text.replace(old, new, 1)
    text += "\n[notify]\ntimeout = 1\nbackoff_seconds = 0\nmax_attempts = 5\ninterval_seconds = 0.2\n" + notify
    if smtp_server is not None:
        text += "\n" + smtp_server.policy(SMTP_PASSWORD_ENV)
    for name, kind, url in webhooks:
        text += f'\n[[notify.webhooks]]\nname = "{name}"\nurl = "{url}"\nkind = "{kind}"\nevents = ["*"]\n'
        if kind == "standard":
            text += f'secret_env = "{WEBHOOK_SECRET_ENV}"\n'
    return text + "\n" + extra


def plant_with(tmp_path: Path, policy: str, database: str | None = None) -> Plant:
    return make_plant(tmp_path / "plant", database=database, policy=policy)


def services_of(plant: Plant) -> Services:
    cfg = config.load(plant.config)
    return Services(config=cfg, store=open_store(cfg), directory=open_directory(cfg))
