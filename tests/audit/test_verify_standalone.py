"""The pack's ``verify.py`` in a bare Python (``python3 -I``, empty PYTHONPATH, a temp dir, only `openssl`):
a good pack verifies, and one changed byte in any file of the pack, or an edit behind a re-made
manifest, fails with exit 1 and names what failed."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gatekeeper.audit.evidence import FILES, MANIFEST, STANDALONE_COMMAND, VERIFY_COMMAND
from tests.audit.conftest import World, export

ALL_FILES = sorted({*FILES, MANIFEST})


@pytest.fixture(scope="module")
def pack(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(world, "zip", tmp_path_factory.mktemp("standalone"))


def unpack(pack: Path, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(pack) as zf:
        zf.extractall(where)
    return where


def run(folder: Path) -> subprocess.CompletedProcess[str]:
    """``python3 -I verify.py`` from the folder, with nothing of ours importable and no site packages."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": "", "LANG": "C.UTF-8"}
    python = shutil.which("python3") or sys.executable
    return subprocess.run([python, "-I", "verify.py"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)


def remanifest(folder: Path) -> None:
    """Re-make MANIFEST.sha256 after an edit, as a forger would: only the log and signature checks remain."""
    lines = [f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
             for n in sorted(os.listdir(folder)) if n != MANIFEST]
    (folder / MANIFEST).write_text("".join(lines))


def test_a_good_pack_verifies_in_a_bare_python(pack: Path, tmp_path: Path) -> None:
    folder = unpack(pack, tmp_path / "pack")
    proc = run(folder)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"OK {len(FILES)} files match {MANIFEST}"
    assert "(openssl)" in lines[1] and "every hash and link recomputed" in lines[2]
    assert lines[3] == "OK register.csv: 4 rows tied to their log seqs"
    assert lines[-1].startswith("verify.py: OK: the pack is intact")
    text = (folder / "verification.txt").read_text()
    assert STANDALONE_COMMAND in text and VERIFY_COMMAND in text  # both ways
    assert (folder / "verify.py").read_bytes() == (Path(__file__).parents[2] / "gatekeeper" / "audit" /
                                                  "verify_standalone.py").read_bytes()


def test_the_key_id_on_record_is_checked(pack: Path, tmp_path: Path) -> None:
    folder = unpack(pack, tmp_path / "pack")
    kid = json.loads((folder / "checkpoint.json").read_bytes())["key_id"]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": ""}
    ok = subprocess.run([sys.executable, "-I", "verify.py", "--key-id", kid], cwd=folder, env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, "-I", str(folder / "verify.py"), "--key-id", "0" * 16, str(folder)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and f"public-key.pem is key {kid}, not the key {'0' * 16}" in bad.stderr


def _flip(data: bytes, name: str) -> bytes:
    """One byte changed. In verify.py a byte of its docstring (a changed code byte would not even run:
    Python then exits 1 by itself); elsewhere the middle byte."""
    i = data.index(b"Run it inside") + 4 if name == "verify.py" else len(data) // 2
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]


@pytest.mark.parametrize("name", ALL_FILES)
def test_one_changed_byte_in_any_file_fails(pack: Path, tmp_path: Path, name: str) -> None:
    folder = unpack(pack, tmp_path / "pack")
    path = folder / name
    path.write_bytes(_flip(path.read_bytes(), name))
    proc = run(folder)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith("verify.py: FAILED: "), proc.stderr
    if name != MANIFEST:
        assert f"{name}: SHA-256" in proc.stderr and "(the file was altered)" in proc.stderr
    else:  # a changed manifest names the line or the file whose hash no longer matches
        assert "MANIFEST.sha256" in proc.stderr


def test_a_damaged_verify_py_still_exits_1(pack: Path, tmp_path: Path) -> None:
    """Its middle byte changed (in code, not a docstring): it may not even parse, but it never says OK."""
    folder = unpack(pack, tmp_path / "pack")
    data = (folder / "verify.py").read_bytes()
    i = len(data) // 2
    (folder / "verify.py").write_bytes(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:])
    proc = run(folder)
    assert proc.returncode == 1 and proc.stderr.strip() and "verify.py: OK" not in proc.stdout


def _edit_log(folder: Path, seq: int, change: dict[str, object]) -> None:
    lines = (folder / "log.jsonl").read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[seq - 1])
    entry.update(change)
    lines[seq - 1] = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    (folder / "log.jsonl").write_bytes(b"".join(lines))


def _tamper_payload(folder: Path) -> None:
    line = (folder / "log.jsonl").read_bytes().splitlines()[2]
    payload = json.loads(line)["payload"]
    payload["tampered"] = True
    _edit_log(folder, 3, {"payload": payload})


def _drop_line(folder: Path) -> None:
    lines = (folder / "log.jsonl").read_bytes().splitlines(keepends=True)
    (folder / "log.jsonl").write_bytes(b"".join(lines[:4] + lines[5:]))


def _truncate(folder: Path) -> None:
    lines = (folder / "log.jsonl").read_bytes().splitlines(keepends=True)
    (folder / "log.jsonl").write_bytes(b"".join(lines[:-1]))


def _forge_checkpoint(folder: Path) -> None:
    cp = json.loads((folder / "checkpoint.json").read_bytes())
    sig = bytearray(base64.b64decode(cp["signature"]))
    sig[0] ^= 1
    cp["signature"] = base64.b64encode(bytes(sig)).decode()
    (folder / "checkpoint.json").write_text(json.dumps(cp))


def _other_key(folder: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gatekeeper.ledger.checkpoint import public_key_pem

    (folder / "public-key.pem").write_bytes(public_key_pem(Ed25519PrivateKey.generate().public_key()))


def _register_seq(folder: Path) -> None:
    import csv
    import io

    rows = list(csv.reader(io.StringIO((folder / "register.csv").read_text("utf-8"), newline="")))
    assert rows[1][0] == "1"
    rows[1][rows[0].index("log_seqs")] += " 2"  # log seq 2 is not about change 1
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    (folder / "register.csv").write_bytes(out.getvalue().encode("utf-8"))


def _approval_signer(folder: Path) -> None:
    data = (folder / "approvals.csv").read_bytes()
    assert b",bob," in data
    (folder / "approvals.csv").write_bytes(data.replace(b",bob,", b",gina,", 1))


def _extra_file(folder: Path) -> None:
    (folder / "notes.txt").write_text("mine")


@pytest.mark.parametrize(("tamper", "remake", "expected"), [
    (_tamper_payload, True, "seq 3: hash does not recompute from the entry's fields"),
    (_drop_line, True, "log.jsonl line 5: seq 6 where seq 5 was expected"),
    (_truncate, True, "(truncated)"),
    (_forge_checkpoint, True, "checkpoint.json: the Ed25519 signature does not verify"),
    (_other_key, True, "but public-key.pem is key"),
    (_register_seq, True, "register.csv, change 1: log seq 2 is not an entry about change 1"),
    (_approval_signer, True, "approvals.csv, change 1"),
    (_extra_file, False, "notes.txt is in the folder but not listed in MANIFEST.sha256"),
])
def test_edits_behind_a_remade_manifest_fail(pack: Path, tmp_path: Path, tamper: object, remake: bool,
                                             expected: str) -> None:
    folder = unpack(pack, tmp_path / "pack")
    tamper(folder)  # type: ignore[operator]
    if remake:
        remanifest(folder)
    proc = run(folder)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert expected in proc.stderr, proc.stderr
