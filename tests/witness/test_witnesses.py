"""Two real witnesses (``gatekeeper witness serve`` subprocesses on loopback) cosign every checkpoint of
the log; a rewritten log is refused by both, whether re-signed with a fresh key or with the real one,
and the refusals are logged and shown on /audit; a pack carries the cosignatures and verify.py can
require them (SPEC §12)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import select

from gatekeeper import config
from gatekeeper.checkpoints.keys import generate_key
from gatekeeper.cli import main
from gatekeeper.ledger import events, note
from gatekeeper.ledger.checkpoint import ed25519_verify, note_verifier, raw_public_key
from gatekeeper.ledger.events import ChangeWithdrawn
from gatekeeper.store import log
from gatekeeper.store.db import Store
from gatekeeper.store.tables import ChangeLog, WitnessCosignature
from tests.support import witness
from tests.support.plant import Plant, make_plant, password
from tests.support.service import HOOK_TOKEN, SECRET_KEY


@dataclass
class Setup:
    plant: Plant
    witnesses: list[witness.RunningWitness]
    key_id: str


def cli(plant: Plant, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--config", str(plant.config), *args])
    return rc, out.getvalue(), err.getvalue()


def append(plant: Plant, n: int, what: str = "real") -> None:
    store = Store(config.load(plant.config).service.database)
    with store.write() as s:
        for i in range(n):
            log.append(s, ChangeWithdrawn(change_id=i + 1, reason=what, state="withdrawn"), "alice")
    store.dispose()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("witnessed")
    plant = make_plant(root / "plant")
    key = generate_key(plant.dir / "signing-key.pem")
    origin = config.load(plant.config).service.origin
    with witness.running(root / "witnesses", [note_verifier(key.public_key(), origin).vkey()]) as ws:
        plant.config.write_text(plant.config.read_text() + witness.config_lines(ws))
        rc, out, _ = cli(plant, "keys", "show")
        assert rc == 0
        yield Setup(plant, ws, out.split()[1])


def test_every_checkpoint_is_cosigned_by_both_witnesses(setup: Setup, tmp_path: Path) -> None:
    for n in (5, 3):
        append(setup.plant, n)
        rc, _, err = cli(setup.plant, "log", "checkpoint", "-o", str(tmp_path / "cp.json"))
        assert rc == 0 and "cosigned by 2 witness(es)" in err, err
    cp = json.loads((tmp_path / "cp.json").read_text())
    body = note.split_note(cp["note"])[0]
    keys = [note.parse_vkey(w.vkey) for w in setup.witnesses]
    sigs = [note.parse_signature_line(line) for line in cp["cosignatures"]]
    assert sorted(v.name for v in note.verify_signatures(body, sigs, keys, ed25519_verify)) == [
        "witness1.test/w1", "witness2.test/w2"]
    store = Store(config.load(setup.plant.config).service.database)
    with store.read() as s:
        sizes = sorted((r.witness, r.size) for r in s.exec(select(WitnessCosignature)).all())
    store.dispose()
    assert sizes == [("witness1.test/w1", 5), ("witness1.test/w1", 9), ("witness2.test/w2", 5),
                     ("witness2.test/w2", 9)]


def forged(setup: Setup, where: Path, *, same_key: bool) -> Plant:
    """A log of the same origin, rewritten from genesis (more entries than the real one)."""
    fake = make_plant(where)
    fake.config.write_text(setup.plant.config.read_text().replace(str(setup.plant.dir), str(fake.dir)))
    if same_key:  # the key holder rewrites history: same key, another tree
        shutil.copy(setup.plant.dir / "signing-key.pem", fake.dir / "signing-key.pem")
    else:
        generate_key(fake.dir / "signing-key.pem")
    append(fake, 30, "rewritten")
    return fake


@pytest.mark.parametrize("same_key", [True, False], ids=["re-signed with the real key", "re-signed with a new key"])
def test_a_rewritten_log_is_refused_by_every_witness_and_admins_see_it(setup: Setup, tmp_path: Path,
                                                                      same_key: bool,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    append(setup.plant, 2)
    assert cli(setup.plant, "log", "checkpoint")[0] == 0  # both witnesses hold the real tree
    fake = forged(setup, tmp_path / "fake", same_key=same_key)
    rc, out, err = cli(fake, "log", "checkpoint")
    assert rc == 0 and json.loads(out)["cosignatures"] == []
    assert err.count("warning: witness") == 2, err
    assert ("HTTP 422" if same_key else "HTTP 403") in err
    store = Store(config.load(fake.config).service.database)
    with store.read() as s:
        refused = [events.WitnessRefused.from_payload(json.loads(e.payload)) for e in
                   s.exec(select(ChangeLog).where(ChangeLog.kind == events.WITNESS_REFUSED)).all()]
    store.dispose()
    assert sorted(r.witness for r in refused) == ["witness1.test/w1", "witness2.test/w2"]
    monkeypatch.setenv("GATEKEEPER_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("GATEKEEPER_HOOK_TOKEN", HOOK_TOKEN)
    from gatekeeper.web import create_app

    app = create_app(str(fake.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/login", data={"username": "frank", "password": password("frank")})
    page = client.get("/audit").get_data(as_text=True)
    app.extensions["gatekeeper"].store.dispose()
    assert 'id="witness-refusals"' in page and page.count("refused the checkpoint of 30 entries") == 2


def test_a_pack_carries_the_cosignatures_and_verify_can_require_them(setup: Setup, tmp_path: Path) -> None:
    append(setup.plant, 2)
    rc, _, err = cli(setup.plant, "audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "--format", "zip",
                     "-o", str(tmp_path / "pack.zip"))
    assert rc == 0, err
    folder = tmp_path / "pack"
    with zipfile.ZipFile(tmp_path / "pack.zip") as zf:
        zf.extractall(folder)
    assert len(json.loads((folder / "checkpoint.json").read_text())["cosignatures"]) == 2
    trust = tmp_path / "trust.txt"
    lines = [f"key {setup.key_id}", *(f"witness {w.name} {w.vkey}" for w in setup.witnesses)]
    trust.write_text("\n".join([*lines, "min-witnesses 2"]) + "\n")
    ok = subprocess.run([sys.executable, "-I", "verify.py", "--trust", str(trust)], cwd=folder, capture_output=True,
                        text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "OK witnesses: cosigned by witness1.test/w1 at" in ok.stdout and "witness2.test/w2 at" in ok.stdout
    # the second witness's name with another key: its cosignature is not the one trusted, so it does not count
    stranger = note.NoteVerifier("witness2.test/w2", note.SIG_COSIGNATURE, raw_public_key(
        Ed25519PrivateKey.generate().public_key())).vkey()
    trust.write_text("\n".join([lines[0], lines[1], f"witness witness2.test/w2 {stranger}", "min-witnesses 2"])
                     + "\n")
    few = subprocess.run([sys.executable, "-I", "verify.py", "--trust", str(trust)], cwd=folder, capture_output=True,
                         text=True, timeout=300)
    assert few.returncode == 1 and "1 of the witnesses you trust cosigned" in few.stderr, few.stderr


def test_the_scheduler_sends_an_automatic_checkpoint_to_each_witness_once(setup: Setup) -> None:
    from gatekeeper.actions.context import Services
    from gatekeeper.bootstrap import open_store
    from gatekeeper.checkpoints.sign import latest_checkpoint
    from gatekeeper.directory import open_directory
    from gatekeeper.witness import client

    cfg = config.load(setup.plant.config)
    cfg = dataclasses.replace(cfg, service=dataclasses.replace(cfg.service, checkpoint_every=4))
    svc = Services(config=cfg, store=open_store(cfg), directory=open_directory(cfg))
    try:
        with svc.store.write() as s:  # the listener signs a checkpoint inside this write: no witness asked yet
            head = log.head(s)
            for i in range(4 - (head.seq if head is not None else 0) % 4):
                log.append(s, ChangeWithdrawn(change_id=i + 1, reason="auto", state="withdrawn"), "alice")
        with svc.store.read() as s:
            cp = latest_checkpoint(s)
            assert cp is not None and cp.note and client.cosignatures(s, cp.seq) == []
        assert client.run_due(svc) is True
        with svc.store.read() as s:
            assert [line.split(" ")[1] for line in client.cosignatures(s, cp.seq)] == [
                "witness1.test/w1", "witness2.test/w2"]
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert client.run_due(svc, later) is False  # each witness cosigned it: nothing more to ask
    finally:
        svc.store.dispose()
