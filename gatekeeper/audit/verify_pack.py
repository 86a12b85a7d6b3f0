"""``gatekeeper audit verify-pack FILE.zip``: check an evidence pack offline (SPEC §9, §10).

The checks, in order; the first failure stops with its reason:

  (1) the file is a zip holding ``MANIFEST.sha256`` in ``sha256sum`` format;
  (2) every file the pack must hold is there, and every file but the manifest is listed in it;
  (3) each listed file's SHA-256 equals the manifest's;
  (4) ``log.jsonl`` verifies from seq 1 against ``checkpoint.json`` with ``public-key.pem``, and
      ends exactly at the checkpoint's seq (``ledger.verify``, the code behind ``log verify``);
  (5) every ``register.csv`` and ``approvals.csv`` row is tied to its log entries, and
      ``exceptions.csv`` points into the log (the same checks as the pack's ``verify.py``).

Exit 0 when all pass, 1 when the pack was altered (names the file or the first bad seq), 2 when
the input is not a usable pack. The manifest shows the files were not changed after packing; the
log's signature shows that the log is the one the key holder certified.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper.audit.evidence import FILES, MANIFEST
from gatekeeper.errors import GatekeeperError, InputError, LedgerBroken
from gatekeeper.ledger.checkpoint import Checkpoint, load_public_key_pem
from gatekeeper.ledger.verify import verify_lines

_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


class PackTampered(GatekeeperError):
    code = "pack_tampered"
    exit_code = 1


@dataclass
class PackReport:
    lines: list[str] = field(default_factory=list)


def read_manifest(text: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise InputError(f"{MANIFEST} line {n}: not `<sha256>  <file>`")
        if m.group(2) in entries:
            raise PackTampered(f"{MANIFEST} lists {m.group(2)} twice")
        entries[m.group(2)] = m.group(1)
    return entries


def _tied(zf: zipfile.ZipFile, csv_names: list[str]) -> list[str]:
    """verify.py's checks (4) and (5), on the log ``ledger.verify`` has just verified."""
    from gatekeeper.audit import verify_standalone as standalone

    with zf.open("log.jsonl") as fh:
        head, index = standalone.index_log(fh)
    with zf.open("log.jsonl") as fh:
        access = standalone.access_entries(fh)
    with tempfile.TemporaryDirectory(prefix="gatekeeper-verify-pack-") as tmp:
        for name in (*csv_names, "verification.txt"):
            Path(tmp, name).write_bytes(zf.read(name))
        try:
            out = [f"OK register.csv: {standalone.check_register(tmp, head, index)} rows tied to their log seqs",
                   f"OK approvals.csv: {standalone.check_approvals(tmp, head, index)} signatures are the ones "
                   "the log records",
                   f"OK exceptions.csv: {standalone.check_exceptions(tmp, head)} rows point into the log",
                   *standalone.check_access(tmp, head, access)]
        except standalone.Failed as exc:
            raise PackTampered(str(exc)) from exc
    return out


def verify_pack(path: Path) -> PackReport:
    """Run the checks; raises ``PackTampered``/``LedgerBroken`` (exit 1) or ``InputError`` (exit 2)."""
    report = PackReport()
    # (1) a zip with a manifest
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a readable zip file ({exc})") from exc
    with zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if MANIFEST not in names:
            raise InputError(f"{path}: no {MANIFEST}; not an evidence pack")
        try:
            manifest = read_manifest(zf.read(MANIFEST).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(f"{MANIFEST} is not UTF-8 text") from exc
        # (2) complete, and nothing unlisted
        for name in FILES:
            if name not in names:
                raise PackTampered(f"{name} is missing from the pack")
            if name not in manifest:
                raise PackTampered(f"{name} is not listed in {MANIFEST}")
        for name in names:
            if name != MANIFEST and name not in manifest:
                raise PackTampered(f"{name} is in the pack but not listed in {MANIFEST}")
        if len(names) != len(set(names)):
            raise PackTampered("the zip holds two files with the same name")
        # (3) hashes
        for name, expected in sorted(manifest.items()):
            if name not in names:
                raise PackTampered(f"{name} is listed in {MANIFEST} but missing from the pack")
            digest = hashlib.sha256()
            with zf.open(name) as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            if digest.hexdigest() != expected:
                raise PackTampered(f"{name}: SHA-256 {digest.hexdigest()[:16]}… differs from "
                                   f"{MANIFEST}'s {expected[:16]}… (the file was altered)")
            report.lines.append(f"OK {name} sha256 {expected}")
        # (4) the log against the checkpoint and the key
        cp = Checkpoint.from_json(zf.read("checkpoint.json"), "checkpoint.json")
        key = load_public_key_pem(zf.read("public-key.pem"), "public-key.pem")
        with zf.open("log.jsonl") as fh:
            summary = verify_lines(fh, [cp], key)
        if summary.head_seq != cp.seq:
            raise LedgerBroken(cp.seq + 1, f"log.jsonl goes on to seq {summary.head_seq}, past the signed "
                                           f"checkpoint of seq {cp.seq}")
        report.lines.append(f"OK log.jsonl: {summary.describe()}")
        # (5) the register tied to the log
        report.lines.extend(_tied(zf, [n for n in ("register.csv", "approvals.csv", "exceptions.csv",
                                                   "access-review.csv", "access-changes.csv") if n in names]))
        report.lines.append(f"verify-pack: OK: {len(manifest)} files match {MANIFEST}; the log verifies from "
                            f"seq 1 to the checkpoint of seq {cp.seq} signed by key {cp.key_id}")
    return report
