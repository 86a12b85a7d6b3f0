"""Hostile packs (issue 21): names with ``../``, symbolic links, a 2 GB file, a truncated zip, duplicate
JSON keys. Each gets one clear failure (exit 1, one line); the verifier reads nothing outside the
pack's folder and never reads a file whole into memory."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.audit.verify_pack import verify_pack
from gatekeeper.ledger.checkpoint import ed25519_verify, key_id
from gatekeeper.verifier import bundle, cli
from tests.support.packs import remanifest, write_pack

KEY = Ed25519PrivateKey.from_private_bytes(b"\x09" * 32)
KID = key_id(KEY.public_key())
T0 = "2026-03-02T08:00:00.000000Z"


def entries() -> list[tuple[str, str, str, dict[str, object]]]:
    policy = {"sha256": hashlib.sha256(b"x = 1\n").hexdigest(), "policy": "x = 1\n"}
    return [(T0, "config.loaded", "gatekeeper", policy),
            (T0, "change.opened", "alice", {"change_id": 1, "repo": "r", "target": "main", "revision": 1,
                                            "fingerprint": "f" * 64, "pusher": "alice", "title": "t", "ticket": "",
                                            "state": "pending", "categories": ["c"], "financial": False,
                                            "approvals_required": [{"group": "g", "count": 1}], "sod_findings": []})]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_pack(tmp_path / "pack", entries(), KEY, start="2026-01-01T00:00:00.000000Z",
               end="2027-01-01T00:00:00.000000Z", now="2026-06-01T00:00:00.000000Z")
    return tmp_path / "pack"


def run(folder: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.run(cli.parser().parse_args(["--key-id", KID, str(folder)]), bundle.sha256(), str(folder),
                     ed25519=ed25519_verify)
    return rc, out.getvalue(), err.getvalue()


def test_the_synthetic_pack_verifies(folder: Path) -> None:
    rc, _, err = run(folder)
    assert rc == 0, err


def _symlink_out(folder: Path) -> None:
    (folder / "log.jsonl").unlink()
    os.symlink("/etc/passwd", folder / "log.jsonl")


def _symlink_extra(folder: Path) -> None:
    os.symlink(folder.parent, folder / "outside")


def _subfolder(folder: Path) -> None:
    (folder / "sub").mkdir()


def _dotdot_in_manifest(folder: Path) -> None:
    text = (folder / "MANIFEST.sha256").read_text()
    (folder / "MANIFEST.sha256").write_text(text + f"{'0' * 64}  ../outside.txt\n")


def _huge_log(folder: Path) -> None:
    with open(folder / "log.jsonl", "r+b") as fh:
        fh.truncate(2 << 30)  # 2 GB, sparse, no newline at its end


def _huge_checkpoint(folder: Path) -> None:
    with open(folder / "checkpoint.json", "r+b") as fh:
        fh.truncate(2 << 30)


def _duplicate_key_checkpoint(folder: Path) -> None:
    text = (folder / "checkpoint.json").read_text()
    (folder / "checkpoint.json").write_text(text.replace('{"', '{"seq":1,"', 1))


def _duplicate_key_log(folder: Path) -> None:
    lines = (folder / "log.jsonl").read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].replace(b'"payload":{', b'"payload":{"upto":0,', 1)
    (folder / "log.jsonl").write_bytes(b"".join(lines))


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "pipe")


@pytest.mark.parametrize(("hostile", "expected"), [
    (_symlink_out, "'log.jsonl' is a symbolic link"),
    (_symlink_extra, "'outside' is a symbolic link"),
    (_subfolder, "'sub' is a folder"),
    (_dotdot_in_manifest, "names '../outside.txt', which is not a file at the pack's root"),
    (_huge_log, "log.jsonl is empty or does not end with a newline"),
    (_huge_checkpoint, "checkpoint.json is larger than 16 MiB"),
    (_duplicate_key_checkpoint, "checkpoint.json: not valid JSON (duplicate key 'seq')"),
    (_duplicate_key_log, "its last line: not valid JSON (duplicate key 'upto')"),
    (_fifo, "'pipe' is not a regular file"),
], ids=lambda v: getattr(v, "__name__", "expected"))
def test_a_hostile_folder_gets_one_clear_failure(folder: Path, hostile: Callable[[Path], None], expected: str) -> None:
    hostile(folder)
    if hostile in (_duplicate_key_checkpoint, _duplicate_key_log):
        remanifest(folder)  # a forger re-makes the manifest; the 2 GB files are refused before it is read
    rc, _, err = run(folder)
    assert rc == 1 and err.count("\n") == 1 and expected in err, err


def zipped(folder: Path, dest: Path, extra: Callable[[zipfile.ZipFile], None] | None = None) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, p.name)
        if extra is not None:
            extra(zf)
    return dest


def _link_member(zf: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("evil")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, "/etc/passwd")


@pytest.mark.parametrize(("extra", "expected"), [
    (lambda zf: zf.writestr("../escaped.txt", "x"), "the zip holds '../escaped.txt'"),
    (lambda zf: zf.writestr("/abs.txt", "x"), "the zip holds '/abs.txt'"),
    (lambda zf: zf.writestr("sub/x.txt", "x"), "the zip holds 'sub/x.txt'"),
    (_link_member, "the zip holds 'evil' as a link or folder"),
], ids=["dotdot", "absolute", "subfolder", "symlink"])
def test_a_hostile_zip_is_refused_before_anything_is_written(folder: Path, tmp_path: Path, extra: object,
                                                            expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    pack = zipped(folder, tmp_path / "pack.zip", extra)  # type: ignore[arg-type]
    assert verify_pack(["--key-id", KID, str(pack)]) == 1
    err = capsys.readouterr().err
    assert expected in err, err
    assert not (tmp_path / "escaped.txt").exists()


def test_a_truncated_zip_fails_with_one_line(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = zipped(folder, tmp_path / "pack.zip")
    data = pack.read_bytes()
    pack.write_bytes(data[:len(data) * 2 // 3])
    assert verify_pack(["--key-id", KID, str(pack)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable zip file" in err
    json.dumps(err)  # one plain line, no traceback
