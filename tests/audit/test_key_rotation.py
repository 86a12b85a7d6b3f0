"""Key rotation (issue 21): ``gatekeeper keys rotate`` logs a ``key.rotated`` entry signed by the old key;
a pack signed by the new key verifies with the OLD key id pinned (the chain is followed), and a
rotation the old key did not sign breaks the pack. Also ``keys show``, ``log prove`` and
``log consistency`` on the same log."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper import config
from gatekeeper.checkpoints.keys import generate_key
from gatekeeper.cli import main
from gatekeeper.ledger import merkle
from gatekeeper.ledger.checkpoint import ed25519_verify, public_key_pem
from gatekeeper.ledger.events import ChangeWithdrawn
from gatekeeper.store import log
from gatekeeper.store.db import Store
from gatekeeper.verifier import bundle, cli
from tests.support.packs import read_log, remanifest, resign
from tests.support.plant import Plant, make_plant


def gk(plant: Plant, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--config", str(plant.config), *args])
    return rc, out.getvalue(), err.getvalue()


def verify(folder: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.run(cli.parser().parse_args([*args, str(folder)]), bundle.sha256(), str(folder),
                     ed25519=ed25519_verify)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plant, str, str, Path]:
    plant = make_plant(tmp_path_factory.mktemp("rotation"))
    generate_key(plant.dir / "signing-key.pem")
    old = gk(plant, "keys", "show")[1].split()[1]
    store = Store(config.load(plant.config).service.database)
    with store.write() as s:
        for i in range(6):
            log.append(s, ChangeWithdrawn(change_id=i + 1, reason="x", state="withdrawn"), "alice")
    store.dispose()
    assert gk(plant, "log", "checkpoint")[0] == 0
    rc, out, err = gk(plant, "keys", "rotate")
    assert rc == 0, err
    new = out.split()[1]
    assert new != old and gk(plant, "keys", "show")[1].split()[1] == new
    assert (plant.dir / f"signing-key.{old}.pem").exists()  # the old key is kept, never deleted
    rc, _, err = gk(plant, "audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "--format", "zip",
                    "-o", str(plant.dir / "pack.zip"))
    assert rc == 0, err
    folder = plant.dir / "pack"
    with zipfile.ZipFile(plant.dir / "pack.zip") as zf:
        zf.extractall(folder)
    return plant, old, new, folder


def test_a_pack_signed_after_a_rotation_verifies_from_the_old_key(rotated: tuple[Plant, str, str, Path]) -> None:
    _plant, old, new, folder = rotated
    rc, out, err = verify(folder, "--key-id", old)
    assert rc == 0, err
    assert f"OK key rotations: {old} -> {new}, each signed by the key before" in out
    assert f"(via rotations {old} -> {new})" in out
    assert verify(folder, "--key-id", new)[0] == 0
    assert verify(folder, "--key-id", "0" * 16)[0] == 1


def test_a_rotation_the_old_key_did_not_sign_fails(rotated: tuple[Plant, str, str, Path], tmp_path: Path) -> None:
    _plant, old, _new, src = rotated
    folder = tmp_path / "pack"
    folder.mkdir()
    for p in src.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    thief = Ed25519PrivateKey.generate()

    def steal(e: tuple[str, str, str, dict[str, object]]) -> tuple[str, str, str, dict[str, object]]:
        ts, kind, actor, p = e
        if kind == "key.rotated":  # names the thief's key, but the signature is not the old key's
            from gatekeeper.ledger.checkpoint import key_id

            pem = public_key_pem(thief.public_key()).decode()
            p = {**p, "new_key_id": key_id(thief.public_key()), "new_public_key": pem,
                 "signature": base64.b64encode(thief.sign(b"x")).decode()}
        return ts, kind, actor, p

    resign(folder, thief, steal)
    rc, _, err = verify(folder, "--key-id", old)
    assert rc == 1 and f"the rotation is not signed by the old key {old} (forged)" in err, err


def test_log_prove_and_consistency_print_checkable_proofs(rotated: tuple[Plant, str, str, Path]) -> None:
    plant, _old, _new, folder = rotated
    entries = read_log(folder)
    rc, out, _ = gk(plant, "log", "prove", "--seq", "3", "--size", str(len(entries)))
    proof = json.loads(out)
    assert rc == 0 and set(proof) == {"tree_size", "leaf_index", "hashes"} and proof["leaf_index"] == 2
    cp = json.loads((folder / "checkpoint.json").read_text())
    root = base64.b64decode(cp["note"].split("\n")[2])
    leaf = merkle.leaf_hash(bytes.fromhex(entries[2]["hash"]))
    assert merkle.verify_inclusion(leaf, 2, len(entries), [bytes.fromhex(h) for h in proof["hashes"]], root)
    rc, out, _ = gk(plant, "log", "consistency", "--from", "6", "--to", str(len(entries)))
    c = json.loads(out)
    assert rc == 0 and c["old_size"] == 6 and c["leaf_index"] == 5 and c["tree_size"] == len(entries)
    t = merkle.TreeBuilder(keep=True)
    for e in entries:
        t.append(merkle.leaf_hash(bytes.fromhex(e["hash"])))
    assert merkle.verify_consistency(6, len(entries), [bytes.fromhex(h) for h in c["hashes"]], t.root_at(6), root)
    rc, _, err = gk(plant, "log", "prove", "--seq", "999999")
    assert rc == 2 and "is not in a tree of" in err
    remanifest(folder)  # untouched: the pack is still whole
