"""Shared fixtures: a tmp plant (policy + file directory), the real service, real bare repos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.git import Repo, make_repo
from tests.support.plant import Plant, make_plant
from tests.support.service import Service, running


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    return make_plant(tmp_path / "plant")


@pytest.fixture
def service(plant: Plant) -> Iterator[Service]:
    with running(plant) as svc:
        yield svc


@pytest.fixture
def repo(plant: Plant) -> Repo:
    return make_repo(plant)
