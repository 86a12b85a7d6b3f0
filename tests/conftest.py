"""Shared fixtures: a tmp plant (policy + file directory), the real service, real bare repos.

The suite runs on both cores with pytest-xdist (``make test``: ``-n 2 --dist loadgroup``, docs/tests.md):
tests go to the workers one by one, except those of one ``xdist_group``, which run on the same worker.
A test module whose tests share a module-scoped fixture (a slapd, a git server, a seeded plant) is its
own group, so that fixture starts once; modules marked with a named group (e.g. ``system-users``) share
a system-wide resource that must not be used twice at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.git import Repo, make_repo
from tests.support.plant import Plant, make_plant, migrated
from tests.support.service import Service, running


def pytest_configure(config: pytest.Config) -> None:
    """``pytest -n N`` alone distributes with ``load``, which ignores the groups: use ``loadgroup``."""
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info is not None else ()
        if any(fixturedefs and fixturedefs[-1].scope == "module" for fixturedefs in defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


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
