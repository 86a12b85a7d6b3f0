"""``gatekeeper session revoke USER``: every web session of the user ends, and it is logged."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from gatekeeper.cli import main
from gatekeeper.store import sessions
from gatekeeper.store.db import Store
from gatekeeper.store.tables import ChangeLog
from tests.support.plant import Plant


def test_revoke_ends_every_session_of_the_user_and_logs_it(plant: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(plant.database)
    tokens = [sessions.create(store, "carol", "10.0.0.1", 1000.0) for _ in range(2)]
    other = sessions.create(store, "bob", "10.0.0.2", 1000.0)
    assert main(["--config", str(plant.config), "session", "revoke", "Carol"]) == 0
    assert "2 sessions of carol revoked" in capsys.readouterr().out
    for token in tokens:
        assert sessions.lookup(store, token, 1001.0, 1800, 43200).reason == sessions.REVOKED
    assert sessions.lookup(store, other, 1001.0, 1800, 43200).username == "bob"
    with store.read() as s:
        entry = s.exec(select(ChangeLog).where(ChangeLog.kind == "session.revoked")).one()
    assert json.loads(entry.payload) == {"username": "carol", "sessions": 2, "via": "cli"}
    assert entry.actor.startswith("cli:")
    store.dispose()
