"""The pack's ``verify.py`` (SPEC §12, issue 21) on real exports: the issue's four tamperings, each run
with the pack's own verify.py in a bare ``python3 -I``; every table checked both ways; one changed
byte in any file; origin pinning; ``--since``."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.checkpoint import ed25519_verify
from gatekeeper.verifier import bundle, cli
from tests.audit.conftest import World, export
from tests.support.packs import add_proofs, read_log, remanifest, resign

MANIFEST = "MANIFEST.sha256"


@pytest.fixture(scope="module")
def packs(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two exports of the same history (the older one is "the last engagement"), a nightly checkpoint between."""
    from tests.audit.conftest import cli as gk

    older = export(world, "zip", tmp_path_factory.mktemp("older"))
    assert gk(world.plant, "log", "checkpoint")[0] == 0
    return older, export(world, "zip", tmp_path_factory.mktemp("newer"))


@pytest.fixture
def pack(packs: tuple[Path, Path]) -> Path:
    return packs[1]


def unpack(pack: Path, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(pack) as zf:
        zf.extractall(where)
    return where


def key_id(folder: Path) -> str:
    return str(json.loads((folder / "checkpoint.json").read_text())["key_id"])


def bare(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The pack's own ``python3 -I verify.py``, nothing of ours importable, no site packages."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": "", "LANG": "C.UTF-8"}
    python = shutil.which("python3") or sys.executable
    return subprocess.run([python, "-I", "verify.py", *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)


def inproc(folder: Path, *args: str) -> tuple[int, str, str]:
    """The same checks in this process (signatures by ``cryptography``): fast enough for many cases."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.run(cli.parser().parse_args([*args, str(folder)]), bundle.sha256(), str(folder),
                     ed25519=ed25519_verify)
    return rc, out.getvalue(), err.getvalue()


def rows(folder: Path, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((folder / name).read_text("utf-8"), newline="")))


def write_rows(folder: Path, name: str, data: list[list[str]]) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(data)
    (folder / name).write_bytes(out.getvalue().encode("utf-8"))


# -- a good pack ----------------------------------------------------------------------------------
def test_a_good_pack_verifies_in_a_bare_python_only_when_the_origin_is_pinned(pack: Path, tmp_path: Path) -> None:
    folder = unpack(pack, tmp_path / "pack")
    ok = bare(folder, "--key-id", key_id(folder))
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    sha = hashlib.sha256((folder / "verify.py").read_bytes()).hexdigest()
    assert lines[0].startswith(f"verify.py: verifier SHA-256 {sha}")
    assert lines[1].startswith("export: ") and "period 2000-01-01T00:00:00.000000Z .. 3000-01-01" in lines[1]
    assert lines[2].startswith(f"checkpoint: tree size {len(read_log(folder))} of gatekeeper/")
    for name in ("register.csv", "approvals.csv", "exceptions.csv", "drift.csv", "metrics.csv", "policy.toml",
                 "policy-history.csv", "controls.md", "access-review.csv", "report.html",
                 "comments.csv"):
        assert any(line.startswith(f"OK {name}: ") for line in lines), name
    assert lines[-1].startswith("verify.py: OK: every check passed; origin pinned")
    assert not (folder / "proofs.jsonl").exists() and not any("proofs.jsonl" in line for line in lines)
    loose = bare(folder)
    assert loose.returncode == 3 and f"origin NOT verified: compare key id {key_id(folder)}" in loose.stdout


def test_a_pack_that_still_carries_proofs_is_checked_against_the_signed_root(pack: Path, tmp_path: Path) -> None:
    """Packs no longer carry proofs.jsonl; one made before (or one added later) is checked line by line."""
    folder = unpack(pack, tmp_path / "pack")
    add_proofs(folder)
    rc, out, err = inproc(folder, "--key-id", key_id(folder))
    assert rc == 0 and "OK proofs.jsonl: " in out, err


def test_the_verifier_from_outside_the_pack_is_the_same_file(world: World, pack: Path, tmp_path: Path) -> None:
    from tests.audit.conftest import cli as gk

    rc, out, _ = gk(world.plant, "audit", "verifier", "-o", str(tmp_path / "verify.py"))
    assert rc == 0 and out.split()[0] == hashlib.sha256((tmp_path / "verify.py").read_bytes()).hexdigest()
    with zipfile.ZipFile(pack) as zf:
        assert zf.read("verify.py") == (tmp_path / "verify.py").read_bytes()


# -- the four tamperings, through the pack's own verify.py in python3 -I ---------------------
def _drop_change_3(folder: Path) -> None:
    """1. Rows removed: emergency CR 3 out of the register, approvals and exceptions."""
    for name, col in (("register.csv", "change_id"), ("approvals.csv", "change_id"), ("exceptions.csv", "change_id")):
        data = rows(folder, name)
        at = data[0].index(col)
        write_rows(folder, name, [r for r in data if r[at] != "3"])


def test_rows_removed_behind_a_remade_manifest_fail(pack: Path, tmp_path: Path) -> None:
    folder = unpack(pack, tmp_path / "pack")
    _drop_change_3(folder)
    remanifest(folder)
    proc = bare(folder, "--key-id", key_id(folder))
    assert proc.returncode == 1, proc.stdout
    assert "register.csv lacks change 3, log seqs " in proc.stderr


def test_a_tail_cut_back_to_an_earlier_checkpoint_fails(pack: Path, tmp_path: Path) -> None:
    """2. Tail cut: the log cut back to a log.checkpoint entry, its payload as checkpoint.json."""
    folder = unpack(pack, tmp_path / "pack")
    log = read_log(folder)
    at = max(e["seq"] for e in log if e["kind"] == "log.checkpoint")
    lines = (folder / "log.jsonl").read_bytes().splitlines(keepends=True)
    (folder / "log.jsonl").write_bytes(b"".join(lines[:at - 1]))
    (folder / "checkpoint.json").write_bytes(canon(log[at - 1]["payload"]) + b"\n")  # canonical, as we write it
    remanifest(folder)
    proc = bare(folder, "--key-id", key_id(folder))
    assert proc.returncode == 1 and "not with the pack's own audit.exported entry" in proc.stderr, proc.stderr


def test_a_tail_cut_back_to_an_older_export_fails_and_since_catches_the_old_pack(packs: tuple[Path, Path],
                                                                                tmp_path: Path) -> None:
    older, newer = (unpack(p, tmp_path / n) for p, n in zip(packs, ("older", "newer"), strict=True))
    old_export = len(read_log(older))
    lines = (newer / "log.jsonl").read_bytes().splitlines(keepends=True)
    (newer / "log.jsonl").write_bytes(b"".join(lines[:old_export]))
    shutil.copy(older / "checkpoint.json", newer / "checkpoint.json")
    remanifest(newer)
    cut = bare(newer, "--key-id", key_id(newer))  # the newer files against the older export: not its files
    assert cut.returncode == 1 and "the signed export entry" in cut.stderr, cut.stderr
    since = tmp_path / "last-engagement.json"
    shutil.copy(unpack(packs[1], tmp_path / "fresh") / "checkpoint.json", since)
    stale = bare(older, "--key-id", key_id(older), "--since", str(since))  # the genuine older pack, shown as new
    assert stale.returncode == 1 and "the pack is older than what you saw" in stale.stderr, stale.stderr
    assert stale.stdout.splitlines()[1].startswith("export: ")  # its signed export time is printed first
    good = bare(unpack(packs[1], tmp_path / "again"), "--key-id", key_id(older), "--since",
                str(older / "checkpoint.json"))
    assert good.returncode == 0 and "OK since: the log extends your checkpoint of" in good.stdout, good.stderr


def test_a_swapped_policy_fails(pack: Path, tmp_path: Path) -> None:
    """3. Policy swapped: a looser policy.toml (a category with no approvals)."""
    folder = unpack(pack, tmp_path / "pack")
    policy = (folder / "policy.toml").read_text()
    (folder / "policy.toml").write_text(policy.replace('paths = ["erp/**"]', 'paths = ["erp/**"]\napprovals = []', 1))
    remanifest(folder)
    proc = bare(folder, "--key-id", key_id(folder))
    assert proc.returncode == 1 and "policy.toml is not the policy in force" in proc.stderr, proc.stderr
    assert "config.loaded entry at log seq" in proc.stderr


def _rename(entry: tuple[str, str, str, dict[str, Any]]) -> tuple[str, str, str, dict[str, Any]]:
    ts, kind, actor, payload = entry
    text = json.dumps(payload).replace('"bob"', '"mallory"')
    return ts, kind, "mallory" if actor == "bob" else actor, json.loads(text)


def test_a_log_rewritten_and_resigned_with_a_fresh_key_is_caught_only_by_pinning(pack: Path, tmp_path: Path) -> None:
    """4. Re-signed: the whole log rewritten (an approver renamed), every table, hash and proof remade,
    signed by a fresh key: consistent, so plain verify.py exits 3, and the pinned key id fails it."""
    folder = unpack(pack, tmp_path / "pack")
    real = key_id(folder)
    resign(folder, Ed25519PrivateKey.generate(), _rename)
    assert "mallory" in (folder / "approvals.csv").read_text()
    plain = bare(folder)
    assert plain.returncode == 3 and real not in plain.stdout and "origin NOT verified" in plain.stdout
    pinned = bare(folder, "--key-id", real)
    assert pinned.returncode == 1 and f"which is not the key you pinned ({real})" in pinned.stderr, pinned.stderr


# -- every table both ways, and every file ------------------------------------------------------------
def _cell(name: str, col: str, row: int, value: str) -> Any:
    def edit(folder: Path) -> None:
        data = rows(folder, name)
        data[row][data[0].index(col)] = value
        write_rows(folder, name, data)
    return edit


def _drop(name: str, row: int) -> Any:
    def edit(folder: Path) -> None:
        data = rows(folder, name)
        write_rows(folder, name, data[:row] + data[row + 1:])
    return edit


def _extra(name: str, row: int) -> Any:
    def edit(folder: Path) -> None:
        data = rows(folder, name)
        write_rows(folder, name, [*data, list(data[row])])
    return edit


def _append(name: str, text: bytes) -> Any:
    def edit(folder: Path) -> None:
        (folder / name).write_bytes((folder / name).read_bytes() + text)
    return edit


def _proof_hash(folder: Path) -> None:
    add_proofs(folder)  # a pack that carries proofs.jsonl, as packs did before the verifier rebuilt the tree
    lines = (folder / "proofs.jsonl").read_bytes().splitlines(keepends=True)
    p = json.loads(lines[0])
    p["hashes"][0] = "00" * 32
    lines[0] = json.dumps(p, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    (folder / "proofs.jsonl").write_bytes(b"".join(lines))


@pytest.mark.parametrize(("edit", "expected"), [
    (_cell("register.csv", "title", 1, "an innocent title"), "register.csv row 1 (change 1, log seqs "),
    (_cell("register.csv", "state", 4, "retro-approved"), "register.csv row 4 (change 4, log seqs "),
    (_drop("register.csv", 2), "register.csv lacks change 2, log seqs "),
    (_extra("register.csv", 1), "register.csv row 5: 1, plant-a-ot, main... is not in the log's tables"),
    (_drop("approvals.csv", 1), "approvals.csv lacks change 1, signature by bob at log seq "),
    (_cell("approvals.csv", "username", 2, "mallory"), "approvals.csv row 2 (change 1, signature by carol at log seq"),
    (_drop("exceptions.csv", 1), "exceptions.csv lacks the push.refused exception at log seq "),
    (_extra("exceptions.csv", 1), "is not in the log's tables for the period"),
    (_append("drift.csv", b"2026-01-01T00:00:00Z,plant-a-ot,plc,x,in line,ok,3\r\n"), "drift.csv row 1:"),
    (_cell("metrics.csv", "value", 3, "99"), "metrics.csv row 3 (metric "),
    (_cell("comments.csv", "comment", 1, "Fine by me."), "comments.csv row 1 (the change.commented entry at log seq "),
    (_drop("comments.csv", 1), "comments.csv lacks the change.commented entry at log seq "),
    (_drop("policy-history.csv", 1), "policy-history.csv lacks the config.loaded entry at log seq "),
    (_proof_hash, "proofs.jsonl line 1: not the inclusion proof of log seq "),
    (_append("controls.md", b"\nEveryone may approve.\n"), "controls.md: SHA-256 "),
    (_append("access-review.csv", b"mallory,M,approve,plant-a-ot,,ot-engineers,,,,false,keep,mallory,x,1\r\n"),
     "access-review.csv row 1: mallory, M, approve... is not in the log's tables"),
    (_append("access-changes.csv", b"2026-01-01,gained,mallory,M,approve,plant-a-ot,,ot-engineers,,false,1\r\n"),
     "access-changes.csv row 1: 2026-01-01, gained, mallory... is not in the log's tables"),
    (_append("report.html", b"<!-- -->"), "report.html: SHA-256 "),
    (_append("register.xlsx", b"\0"), "register.xlsx: SHA-256 "),
], ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", "edit"))
def test_every_file_derived_from_the_log_is_checked_against_it(pack: Path, tmp_path: Path, edit: Any,
                                                              expected: str) -> None:
    folder = unpack(pack, tmp_path / "pack")
    edit(folder)
    remanifest(folder)
    rc, _, err = inproc(folder, "--key-id", key_id(folder))
    assert rc == 1 and expected in err, err


@pytest.mark.parametrize("name", ["register.csv", "register.xlsx", "approvals.csv", "exceptions.csv", "log.jsonl",
                                  "checkpoint.json", "public-key.pem", "verification.txt", "policy.toml",
                                  "policy-history.csv", "access-review.csv", "controls.md", "drift.csv", "metrics.csv",
                                  "report.html", MANIFEST])
def test_one_changed_byte_in_any_file_fails(pack: Path, tmp_path: Path, name: str) -> None:
    folder = unpack(pack, tmp_path / "pack")
    data = (folder / name).read_bytes()
    i = len(data) // 2
    (folder / name).write_bytes(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:])
    rc, _, err = inproc(folder, "--key-id", key_id(folder))
    assert rc == 1 and err.startswith("verify.py: FAILED: "), err
    assert name in err or (name == "log.jsonl" and "seq " in err)


def test_a_damaged_verify_py_never_says_ok(pack: Path, tmp_path: Path) -> None:
    folder = unpack(pack, tmp_path / "pack")
    data = (folder / "verify.py").read_bytes()
    i = len(data) // 2
    (folder / "verify.py").write_bytes(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:])
    proc = bare(folder, "--key-id", key_id(folder))
    assert proc.returncode == 1 and "OK" not in proc.stdout.splitlines()[-1:]
