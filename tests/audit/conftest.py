"""One plant with a real history, built once for the audit tests through real pushes and signatures.

History (change ids in order):
  main bootstrapped with a README (no approval needed, logged)
  1  erp/notes.txt (financial): approved by bob and carol, deployed by alice
  2  tags/line1.txt titled "=HYPERLINK(...)": rejected by gina with a formula-like comment, discussed
     by gina on its file (``change.commented``: comments.csv)
  -  a direct push of config/plant.txt to main: refused
  -  alice's emergency push: refused (not in ot-emergency)
  3  erin's emergency push of config/plant.txt: deployed, then retro-approved by carol
  4  erin's emergency push of tags/line2.txt: deployed, never ratified
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import config
from gatekeeper.actions.context import Services
from gatekeeper.cli import main
from gatekeeper.directory import open_directory
from gatekeeper.period import parse_period
from gatekeeper.store.db import Store
from tests.support.git import PushResult, Repo, git, make_repo
from tests.support.plant import Plant, make_plant
from tests.support.service import Service, running

FORMULA_TITLE = '=HYPERLINK("http://evil.example","x")'
FORMULA_COMMENT = "@SUM(1+1) looks wrong"
PERIOD = ("2000-01-01", "2999-12-31")
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z")
@dataclass
class World:
    plant: Plant
    repo: Repo
    service: Service
    pushes: dict[str, PushResult] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)


def _cid(result: PushResult) -> int:
    m = re.search(r"change request (\d+)", result.text())
    assert m, result.stderr
    return int(m.group(1))


def build(plant: Plant, repo: Repo, svc: Service) -> World:
    w = World(plant, repo, svc)
    repo.commit({"README.md": "# plant\n"}, "bootstrap")
    assert repo.push("HEAD:refs/heads/main").ok
    # 1: financial change, two approvals, deployed
    repo.checkout("topic1", create=True)
    repo.commit({"erp/notes.txt": "GL 4711 -> line 1\n"}, "map line 1 to GL 4711")
    r = repo.push("HEAD:refs/heads/topic1", options=("gatekeeper.ticket=CHG-1",))
    assert _cid(r) == 1
    assert svc.sign(1, "bob").status_code == 201
    assert svc.sign(1, "carol", meaning="Reviewed and approved").status_code == 201
    w.pushes["deploy1"] = repo.push("HEAD:refs/heads/main")
    assert w.pushes["deploy1"].ok, w.pushes["deploy1"].stderr
    w.commits["deploy1"] = repo.head()
    # 2: rejected, hostile title and comment
    repo.checkout("topic2", create=True)
    repo.commit({"tags/line1.txt": "TT-101.high=90\n"}, "raise TT-101")
    r = repo.push("HEAD:refs/heads/topic2", options=(f"gatekeeper.title={FORMULA_TITLE}",))
    assert _cid(r) == 2
    assert svc.sign(2, "gina", "reject", comment=FORMULA_COMMENT).status_code == 201
    from gatekeeper.actions import comments
    from gatekeeper.policy.people import User

    comments.add(services_for(plant), 2, User("gina", "Gina Lead", "gina@example.org"), FORMULA_COMMENT,
                 "tags/line1.txt")
    # refused direct push, refused emergency
    repo.checkout("main")
    git(repo.work, "merge", "-q", "--ff-only", w.commits["deploy1"])
    repo.commit({"config/plant.txt": "setpoint=85\n"}, "hotfix without approval")
    w.pushes["refused"] = repo.push("HEAD:refs/heads/main")
    assert w.pushes["refused"].rc != 0
    w.pushes["emergency-alice"] = repo.push("HEAD:refs/heads/main", user="alice",
                                            options=("gatekeeper.emergency=line 3 down",))
    assert w.pushes["emergency-alice"].rc != 0
    # 3: emergency by erin, ratified
    w.pushes["emergency3"] = repo.push("HEAD:refs/heads/main", user="erin",
                                       options=("gatekeeper.emergency=line 3 down",))
    assert w.pushes["emergency3"].ok, w.pushes["emergency3"].stderr
    assert _cid(w.pushes["emergency3"]) == 3
    w.commits["emergency3"] = repo.head()
    assert svc.sign(3, "carol").status_code == 201
    # 4: emergency by erin, never ratified
    repo.commit({"tags/line2.txt": "TT-202.low=5\n"}, "line 2 sensor swap", author="erin")
    w.pushes["emergency4"] = repo.push("HEAD:refs/heads/main", user="erin",
                                       options=("gatekeeper.emergency=sensor failed",))
    assert w.pushes["emergency4"].ok, w.pushes["emergency4"].stderr
    w.commits["emergency4"] = repo.head()
    return w


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    plant = make_plant(tmp_path_factory.mktemp("audit") / "plant")
    repo = make_repo(plant)
    with running(plant) as svc:
        yield build(plant, repo, svc)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path


# SPEC §9, typed out again here so a reordering in the code cannot go unnoticed.
SPEC_COLUMNS = [
    "change_id", "repo", "target", "title", "categories", "financial", "ticket", "requested_by",
    "requested_at", "revision", "fingerprint", "approvals_required", "approvals", "approved_at",
    "sod_findings", "deployed_at", "deployed_by", "deployed_commit", "emergency", "emergency_reason",
    "retro_approved_at", "retro_overdue", "state", "log_seqs",
    "ticket_state",  # SPEC §11: appended after log_seqs
]


def cli(plant: Plant, *args: str) -> tuple[int, str, str]:
    """``gatekeeper --config <plant> ARGS`` in this process (the same ``main`` as the console script)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--config", str(plant.config), *args])
    return rc, out.getvalue(), err.getvalue()


def export(world: World, fmt: str, out: Path) -> Path:
    """The register or pack of the whole history, written by ``gatekeeper audit export``."""
    target = out / f"register.{fmt}"
    rc, _, err = cli(world.plant, "audit", "export", "--from", PERIOD[0], "--to", PERIOD[1], "--format", fmt,
                     "-o", str(target))
    assert rc == 0, err
    assert "(4 change requests," in err
    return target


def kinds(world: World, seqs: list[int]) -> list[str]:
    entries = world.service.get("/api/v1/log?limit=1000", "dave").json()["entries"]
    by_seq = {e["seq"]: e["kind"] for e in entries}
    return [by_seq[s] for s in seqs]


def change(world: World, cid: int) -> dict[str, Any]:
    return world.service.get(f"/api/v1/changes/{cid}", "dave").json()  # type: ignore[no-any-return]


def services_for(plant: Plant) -> Services:
    """The same adapters the CLI builds, in this process (to inject ``now`` and read the store)."""
    cfg = config.load(plant.config)
    return Services(config=cfg, store=Store(cfg.service.database), directory=open_directory(cfg))


@pytest.fixture(scope="session")
def services(world: World) -> Services:
    return services_for(world.plant)


def period() -> tuple[str, str]:
    return parse_period(*PERIOD)
