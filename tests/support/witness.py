"""Real witnesses for tests: ``gatekeeper witness serve`` in a subprocess on a free loopback port, each
with its own key and SQLite file, stopped by PID (tests/support/process.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.checkpoints.keys import generate_key
from gatekeeper.ledger.checkpoint import raw_public_key
from gatekeeper.ledger.note import SIG_COSIGNATURE, NoteVerifier
from gatekeeper.witness.state import WitnessState
from tests.support import process


@dataclass
class RunningWitness:
    name: str
    url: str
    vkey: str
    dir: Path
    proc: subprocess.Popen[bytes]


def start(folder: Path, name: str, logs: Sequence[str]) -> RunningWitness:
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "witness-key.pem"
    key = generate_key(key_file) if not key_file.exists() else None
    from gatekeeper.checkpoints.keys import load_private_key

    key = key or load_private_key(key_file)
    vkey = NoteVerifier(name, SIG_COSIGNATURE, raw_public_key(key.public_key())).vkey()

    state = WitnessState(folder / "witness.db")  # as `gatekeeper witness trust` / a first `serve --name` leave it
    state.name(name, name)
    for v in logs:
        state.trust(v)

    def launch() -> RunningWitness:
        port = process.free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
        cmd = [sys.executable, "-m", "gatekeeper", "witness", "serve", "--db", str(folder / "witness.db"),
               "--key", str(key_file), "--listen", f"127.0.0.1:{port}"]  # SPEC §12: all a restart needs
        proc = process.spawn(cmd, folder / "witness.log", env=env)
        process.wait_ready(proc, lambda: process.port_open("127.0.0.1", port), name=f"witness {name}",
                           what="listen", tail=lambda: process.log_tail(folder, "witness.log"))
        return RunningWitness(name, f"http://127.0.0.1:{port}", vkey, folder, proc)

    return process.start_retrying(launch)


@contextmanager
def running(root: Path, logs: Sequence[str], count: int = 2) -> Iterator[list[RunningWitness]]:
    started: list[RunningWitness] = []
    try:
        for i in range(1, count + 1):
            started.append(start(root / f"w{i}", f"witness{i}.test/w{i}", logs))
        yield started
    finally:
        for w in started:
            process.stop(w.proc)


def config_lines(witnesses: Sequence[RunningWitness]) -> str:
    """``[[ledger.witnesses]]`` tables for a plant's policy file."""
    return "".join(f'\n[[ledger.witnesses]]\nname = "{w.name}"\nurl = "{w.url}"\nkey = "{w.vkey}"\n'
                   for w in witnesses)
