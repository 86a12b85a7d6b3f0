"""``gatekeeper log``/``keys``/``db``: exit 0 intact, 1 tampered, 2 unusable input (SPEC §5, §10)."""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.ledger import events as ev
from gatekeeper.store import log
from gatekeeper.store.db import Store
from tests.support.plant import Plant


def run(plant: Plant, *args: str) -> int:
    return main(["--config", str(plant.config), *args])


@pytest.fixture
def logged(plant: Plant, capsys: pytest.CaptureFixture[str]) -> Plant:
    """A plant whose log has 30 entries, a signing key and a checkpoint of seq 30 (entry 31)."""
    assert run(plant, "keys", "generate") == 0
    store = Store(plant.database)
    for i in range(30):
        with store.write() as s:
            log.append(s, ev.ChangeOpened(change_id=i, title=f"Rezept {i}"), "alice")
    store.dispose()
    assert run(plant, "log", "checkpoint", "-o", str(plant.dir / "cp.json")) == 0
    assert run(plant, "log", "export", "-o", str(plant.dir / "log.jsonl")) == 0
    capsys.readouterr()
    return plant


def auditor(plant: Plant, *args: str) -> int:
    """What an auditor runs on their own machine: no config, only the export and the public key."""
    return main(["log", "verify", "--export", str(plant.dir / "log.jsonl"),
                 "--public-key", str(plant.dir / "signing-key.pub.pem"), *args])


def test_keys_generate_makes_a_private_key_only_its_owner_reads(plant: Plant,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(plant, "keys", "generate") == 0
    key = plant.dir / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in key.read_bytes()
    assert b"BEGIN PUBLIC KEY" in (plant.dir / "signing-key.pub.pem").read_bytes()
    assert capsys.readouterr().out.startswith("key_id ")
    assert run(plant, "keys", "generate") == 2
    assert "refusing to replace" in capsys.readouterr().err
    assert main(["keys", "generate", "-o", str(plant.dir / "other.pem")]) == 0


def test_verify_database_and_export(logged: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(logged, "log", "verify") == 0
    assert capsys.readouterr().out.startswith("log intact: 31 entries")
    assert main(["log", "verify", "--config", str(logged.config), "--checkpoint", str(logged.dir / "cp.json")]) == 0
    assert auditor(logged, "--checkpoint", str(logged.dir / "cp.json")) == 0
    out, err = capsys.readouterr()
    assert "1 checkpoint(s) given" in out and err == ""  # no progress bar: stderr is not a terminal


def test_checkpoint_json_is_the_spec_shape(logged: Plant) -> None:
    cp = json.loads((logged.dir / "cp.json").read_text())
    assert set(cp) == {"seq", "hash", "ts", "key_id", "signature", "note", "cosignatures"} and cp["seq"] == 30
    origin, size, root = cp["note"].split("\n")[:3]  # SPEC §12: a C2SP checkpoint of the same tree
    assert origin.startswith("gatekeeper/") and size == "30" and len(base64.b64decode(root)) == 32


def _rewrite(path: Path, edit: object) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(edit(lines)))  # type: ignore[operator]


@pytest.mark.parametrize(("edit", "seq", "reason"), [
    (lambda ls: [*ls[:4], ls[4].replace(b"Rezept 4", b"Rezept X"), *ls[5:]], 5, "hash does not recompute"),
    (lambda ls: ls[:9] + ls[10:], 10, "entry missing: seq 11 follows seq 9"),
    (lambda ls: ls[:20], 21, "truncated"),
])
def test_tampered_export_exits_1_naming_the_seq(logged: Plant, capsys: pytest.CaptureFixture[str],
                                                edit: object, seq: int, reason: str) -> None:
    _rewrite(logged.dir / "log.jsonl", edit)
    assert auditor(logged, "--checkpoint", str(logged.dir / "cp.json")) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gatekeeper: log verify: FAILED at seq {seq}: ") and reason in err


def test_unusable_input_exits_2(logged: Plant, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad_json, bad_key = tmp_path / "bad.json", tmp_path / "bad.pem"
    bad_json.write_text("{not json")
    bad_key.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    cases = [
        ["log", "verify", "--export", str(tmp_path / "missing.jsonl")],
        ["log", "verify", "--export", str(logged.dir / "log.jsonl"), "--checkpoint", str(bad_json),
         "--public-key", str(logged.dir / "signing-key.pub.pem")],
        ["log", "verify", "--export", str(logged.dir / "log.jsonl"), "--public-key", str(bad_key)],
        ["log", "verify", "--export", str(logged.dir / "log.jsonl"), "--checkpoint", str(logged.dir / "cp.json")],
        ["log", "verify", "--export", str(bad_json)],
    ]
    for args in cases:
        assert main(args) == 2, args
        assert capsys.readouterr().err.startswith("gatekeeper: error: ")


def test_checkpoint_without_a_key_or_entries_exits_2(plant: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(plant, "log", "checkpoint") == 2
    assert "no database at" in capsys.readouterr().err  # nothing to sign, and none is created (issue 25)
    assert run(plant, "db", "upgrade") == 0
    assert run(plant, "log", "checkpoint") == 2
    assert "no signing key" in capsys.readouterr().err
    assert run(plant, "keys", "generate") == 0
    assert run(plant, "log", "checkpoint") == 2
    assert "log is empty" in capsys.readouterr().err


def test_export_a_period_and_with_a_fresh_checkpoint(logged: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    out = logged.dir / "period.jsonl"
    assert run(logged, "log", "export", "--from", "2000-01-01", "--to", "2000-12-31", "-o", str(out)) == 0
    assert out.read_bytes() == b"" and "exported 0 entries" in capsys.readouterr().err
    assert run(logged, "log", "export", "--from", "2000-01-01", "-o", str(out),
               "--checkpoint-out", str(logged.dir / "fresh.json")) == 0
    assert json.loads((logged.dir / "fresh.json").read_text())["seq"] == 31
    assert len(out.read_bytes().splitlines()) == 31
    assert run(logged, "log", "export", "--from", "May 1st", "-o", str(out)) == 2


def test_anchor_to_git_and_file_then_verify_against_them(logged: Plant, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    repo, kept = tmp_path / "plant.git", tmp_path / "auditor.jsonl"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    assert run(logged, "log", "anchor", "--git", str(repo), "--file", str(kept)) == 0
    assert run(logged, "log", "checkpoint") == 0
    assert run(logged, "log", "anchor", "--git", str(repo), "--file", str(kept)) == 0
    assert run(logged, "log", "anchor", "--git", str(repo), "--file", str(kept)) == 0  # idempotent
    tree = subprocess.run(["git", "-C", str(repo), "ls-tree", "--name-only", "refs/gatekeeper/checkpoints"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert tree == ["checkpoint-30.json", "checkpoint-31.json"]
    assert len(kept.read_text().splitlines()) == 2
    capsys.readouterr()
    assert run(logged, "log", "verify", "--git-anchor", str(repo), "--checkpoint", str(kept)) == 0
    assert "4 checkpoint(s) given" in capsys.readouterr().out
    assert auditor(logged, "--checkpoint", str(kept)) == 0  # the export ends at seq 31, the newest anchor
    _rewrite(logged.dir / "log.jsonl", lambda ls: ls[:30])
    assert auditor(logged, "--checkpoint", str(kept)) == 1
    assert "FAILED at seq 31: the log ends at seq 30" in capsys.readouterr().err


def test_anchor_refuses_a_different_checkpoint_for_an_anchored_seq(logged: Plant, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    kept = tmp_path / "auditor.jsonl"
    assert run(logged, "log", "anchor", "--file", str(kept), "--checkpoint", str(logged.dir / "cp.json")) == 0
    forged = json.loads((logged.dir / "cp.json").read_text())
    forged["hash"] = "0" * 64
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    assert run(logged, "log", "anchor", "--file", str(kept), "--checkpoint", str(tmp_path / "forged.json")) == 1
    assert "FAILED at seq 30" in capsys.readouterr().err


def test_db_upgrade_and_grants(plant: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(plant, "db", "upgrade") == 0
    assert "upgraded from an empty database" in capsys.readouterr().out
    assert main(["db", "upgrade", "--config", str(plant.config)]) == 0
    assert "already current" in capsys.readouterr().out
    assert main(["db", "grants", "gatekeeper_service"]) == 0
    assert ("GRANT SELECT, INSERT ON public.change_log, public.change_log_ref, public.merkle_node, "
            "public.witness_cosignature TO gatekeeper_service;") in \
        capsys.readouterr().out
    assert main(["db", "grants", "Robert'); DROP"]) == 2


def test_a_database_without_a_log_is_unusable_input(plant: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(plant, "log", "verify") == 2
    assert "no database at" in capsys.readouterr().err  # an absent file is said so, and stays absent (issue 25)
    sqlite3.connect(plant.dir / "gatekeeper.db").close()  # a file without the schema
    assert run(plant, "log", "verify") == 2
    assert "cannot read the change log" in capsys.readouterr().err
