"""Fixtures for the pages: one plant seeded once by real pushes through the real hooks and service,
then a fresh copy of its database for every test (so a signature in one test is not seen by another).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.formats.fixtures import read
from tests.support.git import make_repo
from tests.support.plant import Plant, make_plant, password
from tests.support.service import HOOK_TOKEN, SECRET_KEY, running

RECIPE_V1 = "batchml/2026-04-26_BatchML_Verfahrensrezept1.xml"
RECIPE_V2 = "batchml/2026-04-26_BatchML_Verfahrensrezept2.xml"
POSTINGS = "erp-mapping/production-postings.csv"
TITLE = "Mixing recipe v2"
TAGS_V1 = "# line 1 tags\nTT-101.high = 85.0\nTT-101.low = 20.0\nPT-204.high = 6.5\n"
TAGS_V2 = "# line 1 tags\nTT-101.high = 90.0\nTT-101.low = 20.0\nPT-204.high = 6.5\nFT-300.unit = m3/h\n"


@dataclass(frozen=True)
class Seed:
    """The seeded plant and the ids of its change requests."""

    plant: Plant
    deployed: int    # recipe + tags + README, approved by carol and deployed to main
    pending: int     # recipe v1 → v2 and a tag file, pushed by alice: carol or gina may sign
    financial: int   # an ERP mapping (financial), pushed by alice
    emergency: int   # a hotfix pushed straight to main by erin under break-glass


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return build_seed(tmp_path_factory.mktemp("seed"))


def build_seed(where: Path) -> Seed:
    """Real pushes through the real hooks to the real service (``gatekeeper serve``)."""
    plant = make_plant(where)
    repo = make_repo(plant)
    with running(plant) as svc:
        repo.checkout("bootstrap", create=True)
        repo.commit({"recipes/mixing.xml": read(RECIPE_V1), "tags/line1.txt": TAGS_V1,
                     "README.md": "# plant A OT configuration\n"}, "Initial recipe and tags")
        deployed = _pushed(repo.push("HEAD:refs/heads/bootstrap", options=("gatekeeper.target=main",)))
        assert svc.sign(deployed, "carol").status_code == 201
        assert repo.push("HEAD:refs/heads/main").ok

        repo.checkout("recipe-update", create=True, start="bootstrap")
        repo.commit({"recipes/mixing.xml": read(RECIPE_V2), "tags/line1.txt": TAGS_V2},
                    "Mixing recipe: new amounts; raise TT-101 high limit")
        pending = _pushed(repo.push("HEAD:refs/heads/recipe-update",
                                    options=("gatekeeper.ticket=CHG-1042", f"gatekeeper.title={TITLE}")))
        assert not repo.push("HEAD:refs/heads/main").ok  # refused: not approved (an exception for auditors)

        repo.checkout("erp-postings", create=True, start="bootstrap")
        repo.commit({"erp/production-postings.csv": read(POSTINGS)}, "ERP postings")
        financial = _pushed(repo.push("HEAD:refs/heads/erp-postings"))

        repo.checkout("hotfix", create=True, start="bootstrap")
        repo.commit({"tags/line1.txt": TAGS_V1.replace("6.5", "7.0")}, "Hotfix PT-204 trip", author="erin")
        result = repo.push("HEAD:refs/heads/main", user="erin",
                           options=("gatekeeper.emergency=PT-204 nuisance trips",))
        assert result.ok, result.stderr
        found = re.search(r"EMERGENCY change request (\d+)", result.text())
        assert found, result.stderr
    with sqlite3.connect(plant.dir / "gatekeeper.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Seed(plant, deployed, pending, financial, int(found.group(1)))


def _pushed(result: object) -> int:
    assert getattr(result, "ok", False), getattr(result, "stderr", result)
    return result.change_id()  # type: ignore[attr-defined, no-any-return]


def copy_plant(seed: Seed, dest: Path) -> Plant:
    """A new plant (own port, URL, config) holding a copy of the seeded database and signing key."""
    plant = make_plant(dest)
    shutil.copy(seed.plant.dir / "gatekeeper.db", dest / "gatekeeper.db")
    for key in seed.plant.dir.glob("signing-key*"):
        shutil.copy(key, dest / key.name)
    return plant


@pytest.fixture
def plant(seed: Seed, tmp_path: Path) -> Plant:
    return copy_plant(seed, tmp_path / "plant")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKEEPER_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("GATEKEEPER_HOOK_TOKEN", HOOK_TOKEN)


@pytest.fixture
def app(plant: Plant, env: None) -> Iterator[Flask]:
    from gatekeeper.web import create_app

    flask_app = create_app(str(plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield flask_app
    flask_app.extensions["gatekeeper"].store.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def login(client: FlaskClient, user: str, pw: str | None = None, **extra: str) -> object:
    return client.post("/login", data={"username": user, "password": pw or password(user), **extra})
