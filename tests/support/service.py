"""The real service: ``gatekeeper serve`` in a subprocess on a free port, polled until healthy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests

from tests.support import process
from tests.support.plant import Plant

HOOK_TOKEN = "test-hook-token-" + secrets.token_hex(8)
SECRET_KEY = "test-secret-key-" + secrets.token_hex(8)


def service_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GATEKEEPER_"))}
    env.update({"GATEKEEPER_HOOK_TOKEN": HOOK_TOKEN, "GATEKEEPER_SECRET_KEY": SECRET_KEY})
    env.update(extra or {})
    return env


@dataclass
class Service:
    plant: Plant
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=service_env)

    @property
    def url(self) -> str:
        return self.plant.url

    def start(self, timeout: float = 30) -> None:
        """Start and poll until ``/healthz`` answers. If the port was taken meanwhile (by a process
        outside this run), the plant moves to another free port and the service starts again."""
        for attempt in range(3):
            if self._start(timeout) or attempt == 2:
                return
            self.plant.move_to(process.free_port())
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> bool:
        log_path = self.plant.dir / "service.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gatekeeper", "--config", str(self.plant.config), "serve",
                 "--port", str(self.plant.port)], env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                said = log_path.read_bytes()[offset:].decode(errors="replace")
                if "Address already in use" in said:
                    return False
                raise RuntimeError("gatekeeper serve exited: " + said[-2000:])
            if process.port_open("127.0.0.1", self.plant.port) and process.service_answers(self.url, 5):
                return True
            time.sleep(0.03)
        process.stop(self.proc)
        raise RuntimeError("gatekeeper serve did not become healthy in time: " + log_path.read_text()[-2000:])

    def stop(self) -> None:
        process.stop(self.proc)
        self.proc = None

    def get(self, path: str, user: str | None = None, **kw: object) -> requests.Response:
        from tests.support.plant import password

        auth = (user, password(user)) if user else None
        return requests.get(self.url + path, auth=auth, timeout=30, **kw)  # type: ignore[arg-type]

    def post(self, path: str, user: str | None = None, pw: str | None = None, **kw: object) -> requests.Response:
        from tests.support.plant import password

        auth = (user, pw if pw is not None else password(user)) if user else None
        return requests.post(self.url + path, auth=auth, timeout=60, **kw)  # type: ignore[arg-type]

    def sign(self, change_id: int, user: str, decision: str = "approve", **body: object) -> requests.Response:
        return self.post(f"/api/v1/changes/{change_id}/approvals", user, json={"decision": decision, **body})


@contextmanager
def running(plant: Plant, env: dict[str, str] | None = None) -> Iterator[Service]:
    svc = Service(plant, env=service_env(env))
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()
