"""Real gunicorn instances of the service ("hosts" on their own 127.0.0.x address), for the scale
test and the load benchmark: started and stopped by PID, polled until healthy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import process


@dataclass
class Gunicorn:
    config: Path
    host: str
    port: int
    env: dict[str, str]
    workers: int = 2
    threads: int = 1  # > 1: the gthread worker, so a page need not wait behind a push in the same worker
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60) -> Gunicorn:
        env = {**self.env, "GATEKEEPER_CONFIG": str(self.config)}
        out = open(self.log or os.devnull, "ab")  # noqa: SIM115 - owned by the child
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.proc = subprocess.Popen(
            [str(gunicorn), "-w", str(self.workers), "--threads", str(self.threads), "-b", f"{self.host}:{self.port}",
             "--timeout", "120",
             "--graceful-timeout", "10", "gatekeeper.web:create_app()"], env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text()[-3000:] if self.log else ""
                raise RuntimeError(f"gunicorn on {self.url} exited {self.proc.returncode}: {tail}")
            if process.service_answers(self.url, 2):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn on {self.url} did not become healthy")

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [int(x) for x in out.stdout.split()]

    def kill_worker(self) -> int:
        """SIGKILL one worker (the arbiter starts a new one), as a crash or the OOM killer would."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        process.stop(self.proc, timeout=20)
        self.proc = None
