"""Shared fixtures: a tmp plant (policy + file directory), the real service, real bare repos.

The suite runs on both cores with pytest-xdist (``make test``: ``-n 2``; ``--dist loadfile`` in the
pyproject addopts): each test file runs on one worker, so its module-scoped fixtures (a slapd, a git
server, a seeded plant) start once. See docs/tests.md before adding a server or a fixed path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.git import Repo, make_repo
from tests.support.plant import Plant, make_plant, migrated
from tests.support.service import Service, running

# Hypothesis' timing checks measure the machine, not the code: on a shared or loaded CI runner (and with
# two workers) generating examples can take longer than its limits, which failed tests at random.
settings.register_profile("gatekeeper", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gatekeeper")


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    return make_plant(tmp_path / "plant")


@pytest.fixture
def service(plant: Plant) -> Iterator[Service]:
    with running(migrated(plant)) as svc:
        yield svc


@pytest.fixture
def repo(plant: Plant) -> Repo:
    return make_repo(migrated(plant))
