"""A plant whose approved configuration went through the real gate, and its live sources: a real
HTTP server on 127.0.0.1 (started here, serving the real Kepware/Ignition samples), a command
(an exporter script run without a shell) and file drops (folders a plant exporter writes into)."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import delete

from gatekeeper import config as config_mod
from gatekeeper.actions.context import Services
from gatekeeper.drift.check import Result, run_checks
from gatekeeper.store.db import Store
from gatekeeper.store.tables import DriftState
from tests.support.git import Repo, make_repo
from tests.support.plant import POLICY, Plant, make_plant
from tests.support.service import Service, running

FIX = Path(__file__).parents[1] / "fixtures" / "formats"
AUTH_ENV = "DRIFT_TEST_KEPWARE_AUTH"
AUTH = "Authorization: Bearer kepware-config-api-token"
SIMDEMO = (FIX / "kepware" / "simdemo_en-us.json").read_bytes()
FULL = (FIX / "ignition" / "full-tag-export.json").read_bytes()
NATIVE = (FIX / "ignition" / "native-tag-export.json").read_bytes()
MAPPING = (FIX / "erp-mapping" / "production-postings.csv").read_bytes()
MAKER = {f"Channels/{n}.json": (FIX / "kepware" / "Channels" / f"{n}.json").read_bytes()
         for n in ("ControlLogixChannel1", "ModbusChannel1", "SimulatorChannel1")}
MAKER.update({f"Tags/{n}.csv": (FIX / "kepware" / "Tags" / f"{n}.csv").read_bytes()
              for n in ("ControlLogixExample", "ModbusExample", "SimulatorAllDataTypes")})

EXPORTER = """\
import os, sys
if os.path.exists("live/FAIL"):
    sys.stderr.write("gateway refused the export\\n")
    sys.exit(3)
sys.stdout.buffer.write(open(sys.argv[1], "rb").read())
"""


class Live(ThreadingHTTPServer):
    """The plant's configuration endpoints: ``routes`` maps a path to the bytes served (mutable)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Live

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        if self.path.startswith("/kepware/") and self.headers.get("Authorization") != AUTH.split(": ", 1)[1]:
            return self._send(401, b'{"message": "unauthorized"}')
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2/elsewhere")
            self.end_headers()
            return None
        if self.path == "/huge":
            return self._send(200, b"[" + b"0," * 400_000 + b"0]")
        body = self.server.routes.get(self.path)
        return self._send(200, body) if body is not None else self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


def drift_policy(http: str) -> str:
    policy = POLICY.replace('protected = ["main", "release/*"]',
                            'protected = ["main", "release/*"]\npath = "plant-a-ot.git"')
    policy = policy.replace('[[categories]]\nname = "docs"', '[[categories]]\nname = "kepware-tags"\n'
                            'paths = ["tags/kepware/**"]\nformat = "kepware-project"\nauthors = ["ot-engineers"]\n'
                            'approvals = [ {{ group = "ot-engineering-leads", count = 1 }} ]\n\n'
                            '[[categories]]\nname = "docs"')
    py = json.dumps(sys.executable)
    return policy + f"""
[drift]
interval_minutes = 0
timeout_seconds = 1.5
max_bytes = 600000

[[drift.sources]]
name = "kepware-api"
repo = "plant-a-ot"
path = "tags/kepware/simdemo_en-us.json"
format = "kepware-project"
url = "{http}/kepware/project"
header_env = "{AUTH_ENV}"

[[drift.sources]]
name = "ignition-gateway"
repo = "plant-a-ot"
path = "tags/ignition/full-tag-export.json"
format = "ignition-tags"
url = "{http}/ignition/tags"

[[drift.sources]]
name = "ignition-native"
repo = "plant-a-ot"
path = "tags/ignition/native-tag-export.json"
format = "ignition-tags"
command = [{py}, "exporter.py", "live/native-tag-export.json"]

[[drift.sources]]
name = "kepware-maker"
repo = "plant-a-ot"
path = "tags/kepware/maker"
format = "kepware-project"
file = "drop/kepware-maker"

[[drift.sources]]
name = "erp-interface"
repo = "plant-a-ot"
path = "erp/postings.csv"
format = "erp-mapping-csv"
file = "drop/erp"
"""


def approved_files() -> dict[str, str | bytes | None]:
    files: dict[str, str | bytes | None] = {
        "tags/kepware/simdemo_en-us.json": SIMDEMO,
        "tags/ignition/full-tag-export.json": FULL,
        "tags/ignition/native-tag-export.json": NATIVE,
        "erp/postings.csv": MAPPING,
    }
    files.update({f"tags/kepware/maker/{name}": data for name, data in MAKER.items()})
    return files


@dataclass
class DriftPlant:
    plant: Plant
    repo: Repo
    service: Service
    http: Live
    cfg: config_mod.Config
    store: Store
    extra: list[Path] = field(default_factory=list)

    def services(self, cfg: config_mod.Config | None = None) -> Services:
        return Services(config=cfg or self.cfg, store=self.store, directory=None)  # type: ignore[arg-type]

    def check(self, source: str | None = None, repo: str | None = None,
              cfg: config_mod.Config | None = None) -> list[Result]:
        return run_checks(self.services(cfg), repo, source)

    def reset_live(self) -> None:
        """Every live source back to exactly what was approved (served in another formatting)."""
        d = self.plant.dir
        self.http.routes["/kepware/project"] = SIMDEMO
        self.http.routes["/ignition/tags"] = FULL
        (d / "live").mkdir(exist_ok=True)
        (d / "live" / "FAIL").unlink(missing_ok=True)
        (d / "live" / "native-tag-export.json").write_bytes(NATIVE)
        shutil.rmtree(d / "drop", ignore_errors=True)
        for name, data in MAKER.items():
            (d / "drop" / "kepware-maker" / name).parent.mkdir(parents=True, exist_ok=True)
            (d / "drop" / "kepware-maker" / name).write_bytes(data)
        (d / "drop" / "erp").mkdir(parents=True)
        (d / "drop" / "erp" / "postings.csv").write_bytes(MAPPING)


@pytest.fixture(scope="session")
def live_http() -> Iterator[Live]:
    server = Live()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def drift_plant(tmp_path_factory: pytest.TempPathFactory, live_http: Live) -> Iterator[DriftPlant]:
    mp = pytest.MonkeyPatch()
    mp.setenv(AUTH_ENV, AUTH)
    plant = make_plant(tmp_path_factory.mktemp("drift") / "plant", policy=drift_policy(live_http.url))
    (plant.dir / "exporter.py").write_text(EXPORTER)
    with running(plant) as service:
        repo = make_repo(plant)
        repo.checkout("plant", create=True)
        repo.commit(approved_files(), "plant configuration")
        pushed = repo.push("HEAD:refs/heads/plant")
        assert pushed.ok and not any(ln.startswith("error:") for ln in pushed.lines), pushed.lines
        cid = pushed.change_id()
        for user in ("carol", "bob"):
            assert service.sign(cid, user).status_code == 201
        assert repo.push("HEAD:refs/heads/main").ok
        cfg = config_mod.load(plant.config)
        store = Store(cfg.service.database)
        dp = DriftPlant(plant, repo, service, live_http, cfg, store)
        dp.reset_live()
        try:
            yield dp
        finally:
            store.dispose()
            mp.undo()


@pytest.fixture
def dp(drift_plant: DriftPlant) -> Iterator[DriftPlant]:
    """The session's plant with every live source reset to the approved content and no remembered
    state before each test (``drift_state`` is a cache of the last checks; the log keeps them all)."""
    drift_plant.reset_live()
    with drift_plant.store.write() as session:
        session.execute(delete(DriftState))
    yield drift_plant
    drift_plant.reset_live()
