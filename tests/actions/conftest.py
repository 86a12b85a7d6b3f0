"""Use cases run on real SQLite with the file directory of a test plant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatekeeper import config
from gatekeeper.actions.context import Services
from gatekeeper.directory import open_directory
from gatekeeper.store.db import Store
from tests.support.plant import make_plant

TOKEN = "test-token-for-sealing"


@pytest.fixture
def services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.setenv("GATEKEEPER_HOOK_TOKEN", TOKEN)  # what the service seals and checks hook state with
    plant = make_plant(tmp_path / "plant")
    cfg = config.load(plant.config)
    svc = Services(config=cfg, store=Store(cfg.service.database), directory=open_directory(cfg))
    yield svc
    svc.store.dispose()
