"""The evidence pack (SPEC §9, §10): one zip an auditor can check without trusting Gatekeeper.

Order of work: sign a checkpoint of the log head first, then read everything else in one read
session, so the register and the CSVs reflect at least what the checkpoint covers. ``log.jsonl``
holds the whole log from seq 1 up to that checkpoint and is verified, from the very bytes put into
the zip, against ``checkpoint.json`` and ``public-key.pem``; ``verification.txt`` records the result
and the command to re-run it. Every file is streamed (temporary files for the workbook and the
log), and ``MANIFEST.sha256`` (``sha256sum`` format) covers every other file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from gatekeeper import __version__
from gatekeeper.actions.context import Services
from gatekeeper.audit import controls, exceptions, metrics, reconcile, register, report
from gatekeeper.audit.writers import cell, write_csv
from gatekeeper.audit.xlsx import write_xlsx
from gatekeeper.checkpoints.keys import require_private_key
from gatekeeper.checkpoints.sign import make_checkpoint
from gatekeeper.ledger.checkpoint import Checkpoint, public_key_pem
from gatekeeper.ledger.verify import verify_lines
from gatekeeper.store import log

FILES = ("register.csv", "register.xlsx", "approvals.csv", "exceptions.csv", "log.jsonl", "checkpoint.json",
         "public-key.pem", "verification.txt", "policy.toml", "policy-history.csv", "access-review.csv",
         "access-changes.csv", "controls.md", "drift.csv", "metrics.csv", "report.html", "verify.py", "comments.csv")
MANIFEST = "MANIFEST.sha256"
VERIFY_COMMAND = ("gatekeeper log verify --export log.jsonl --checkpoint checkpoint.json "
                  "--public-key public-key.pem")
STANDALONE_COMMAND = "python3 verify.py"
_CHUNK = 1 << 20


class _Pack:
    """Writes zip entries while hashing them, for the manifest."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.digests: dict[str, str] = {}

    def put(self, name: str, data: bytes) -> None:
        self.zf.writestr(name, data)
        self.digests[name] = hashlib.sha256(data).hexdigest()

    def file(self, name: str, src: IO[bytes]) -> None:
        digest = hashlib.sha256()
        with self.zf.open(name, "w", force_zip64=True) as dst:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        self.digests[name] = digest.hexdigest()

    def csv(self, name: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
        with self.text(name) as out:
            return write_csv(out, columns, rows)

    def text(self, name: str) -> _TextEntry:
        return _TextEntry(self, name)

    def manifest(self) -> None:
        lines = "".join(f"{self.digests[n]}  {n}\n" for n in sorted(self.digests))
        self.put(MANIFEST, lines.encode("utf-8"))


class _TextEntry:
    """A UTF-8 text zip entry, hashed as it is written."""

    def __init__(self, pack: _Pack, name: str) -> None:
        self.pack, self.name = pack, name
        self.digest = hashlib.sha256()

    def __enter__(self) -> io.TextIOWrapper:
        self.raw = self.pack.zf.open(self.name, "w", force_zip64=True)
        self.buf = _Hashing(self.raw, self.digest)
        self.out = io.TextIOWrapper(io.BufferedWriter(self.buf, _CHUNK), encoding="utf-8", newline="")
        return self.out

    def __exit__(self, *exc: object) -> None:
        self.out.flush()
        self.out.detach().flush()
        self.raw.close()
        self.pack.digests[self.name] = self.digest.hexdigest()


class _Hashing(io.RawIOBase):
    def __init__(self, dst: IO[bytes], digest: Any) -> None:
        self.dst, self.digest = dst, digest

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.digest.update(data)
        self.dst.write(data)
        return len(data)


def build_pack(services: Services, start: str, end: str, out: IO[bytes], *, now: str | None = None) -> int:
    """Write the evidence pack for [start, end) to ``out``; returns the number of CRs in the register."""
    now = now or register.utc_now()
    key = require_private_key(Path(services.config.service.signing_key))
    cp = make_checkpoint(services.store, key)
    with services.store.read() as session, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        pack = _Pack(zf)
        tally = metrics.Tally(start, end)  # fed from the very rows written to the register
        n = _register(pack, register.rows(services, start, end, now=now, session=session), tally)
        pack.csv("approvals.csv", register.APPROVAL_COLUMNS,
                 register.approval_rows(services, start, end, session=session))
        results, notes = reconcile.reconcile_all(services, session, start, end)
        extra = [*tally.incomplete_exceptions(), *(row for r in results for row in r.exceptions(now)), *notes]
        found = list(exceptions.exception_rows(session, start, end, now, extra))
        pack.csv("exceptions.csv", exceptions.EXCEPTION_COLUMNS, found)
        figures = metrics.summarise(tally, metrics.log_facts(session, start, end), found,
                                    hook_drift=sum(1 for e in found if e["kind"] == "hook-drift"))
        pack.csv("metrics.csv", metrics.METRICS_COLUMNS, metrics.csv_rows(figures))
        with tempfile.TemporaryFile() as log_file:
            log.export_jsonl(session, log_file, upto=cp.seq)  # type: ignore[arg-type]
            log_file.seek(0)
            outcome = _verify(log_file, cp, key.public_key())
            log_file.seek(0)
            pack.file("log.jsonl", log_file)  # type: ignore[arg-type]
        pack.put("checkpoint.json", cp.to_json())
        pack.put("public-key.pem", public_key_pem(key.public_key()))
        policy = controls.policy_in_force(session, cp.seq, services.config)
        text = _verification_text(start, end, now, cp, outcome, results, notes, policy, services)
        pack.put("verification.txt", (text + _rules_note(figures)).encode("utf-8"))
        pack.put("policy.toml", policy.raw)
        pack.csv("policy-history.csv", controls.POLICY_HISTORY_COLUMNS,
                 controls.policy_history(session, cp.seq))
        from gatekeeper.audit import access

        pack.csv("access-review.csv", access.REVIEW_COLUMNS, access.review_rows(session, start, end, cp.seq))
        pack.csv("access-changes.csv", access.CHANGE_COLUMNS, access.change_rows(session, start, end, cp.seq))
        from gatekeeper.drift.audit import DRIFT_COLUMNS, drift_rows

        pack.csv("drift.csv", DRIFT_COLUMNS, drift_rows(session, start, end))
        from gatekeeper.audit.comments import COMMENT_COLUMNS, comment_rows  # issue 25: the reviewers' discussion

        pack.csv("comments.csv", COMMENT_COLUMNS, comment_rows(session, start, end, cp.seq))
        controls_text = controls.controls_md(controls.policy_config(services.config, policy), policy, now, cp.key_id)
        pack.put("controls.md", controls_text.encode("utf-8"))
        pack.put("report.html", report.render(report.Report(
            start=start, end=end, built=now, metrics=figures, controls_md=controls_text, checkpoint=cp,
            verification=outcome, reconciliation=results, notes=notes, service_url=services.config.service.url,
            policy_sha256=policy.sha256)).encode("utf-8"))
        pack.put("verify.py", report.verify_script())
        pack.manifest()
    return n


def _register(pack: _Pack, rows: Iterator[dict[str, Any]], tally: metrics.Tally) -> int:
    """register.csv and register.xlsx from one pass over the rows (so both show the same population).

    Both are spooled to temporary files (a zip takes one open entry at a time); memory stays flat.
    """
    with tempfile.TemporaryFile() as csv_file, tempfile.NamedTemporaryFile(suffix=".xlsx") as xlsx_file:
        text = io.TextIOWrapper(csv_file, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(register.COLUMNS)

        def tee() -> Iterator[dict[str, Any]]:
            for r in rows:
                writer.writerow([cell(r.get(c)) for c in register.COLUMNS])
                tally.add(r)
                yield r

        n = write_xlsx(xlsx_file.name, register.COLUMNS, tee())
        text.flush()
        csv_file.seek(0)
        pack.file("register.csv", csv_file)
        with open(xlsx_file.name, "rb") as fh:
            pack.file("register.xlsx", fh)
        text.detach()
    return n


def _verify(log_file: IO[bytes], cp: Checkpoint, public_key: Any) -> str:
    return report.verification_outcome(lambda: verify_lines(log_file, [cp], public_key))


def _rules_note(figures: dict[str, Any]) -> str:
    n = figures["approvals_required_from_current_policy"]
    if not n:
        return ("\n6. approvals_required\n\nEvery register row's approvals_required is the rule set recorded on its "
                "revision when it was opened (the policy in force then).\n")
    return (f"\n6. approvals_required\n\n{n} register row(s) belong to revisions recorded before Gatekeeper "
            "kept the rules in force on each revision; their approvals_required is today's policy "
            "(policy.toml), not necessarily the one in force when they were opened (policy-history.csv).\n")


def _verification_text(start: str, end: str, now: str, cp: Checkpoint, outcome: str,
                       results: Sequence[reconcile.Result], notes: Sequence[dict[str, Any]],
                       policy: controls.PolicyInForce, services: Services) -> str:
    lines = [
        "Gatekeeper evidence pack: verification", "",
        f"Built: {now} by gatekeeper {__version__}",
        f"Period: {start} .. {end} (register.csv, register.xlsx, approvals.csv, exceptions.csv, "
        "access-review.csv, access-changes.csv)",
        "", "1. Change log", "",
        f"log.jsonl holds every entry from seq 1 to seq {cp.seq}; checkpoint.json signs seq {cp.seq} "
        f"(hash {cp.hash}, {cp.ts}) with the Ed25519 key {cp.key_id} in public-key.pem.",
        "Verifying log.jsonl against checkpoint.json and public-key.pem when the pack was built gave:", "",
        outcome, "",
        "Re-run it on your own machine (needs only this pack and Gatekeeper installed):", "",
        f"    {VERIFY_COMMAND}", "",
        "It prints \"log intact: ...\" and exits 0; any edit, insertion, deletion, reordering or truncation "
        "of log.jsonl makes it exit 1 and name the first bad sequence number. Compare the key id "
        f"{cp.key_id} with the one your organisation keeps on record (logged as key.created).",
        "", "2. Files", "",
        "MANIFEST.sha256 lists the SHA-256 of every other file: `sha256sum -c MANIFEST.sha256`, or "
        "`gatekeeper audit verify-pack PACK.zip` for both checks at once.",
        "", "3. Without Gatekeeper", "",
        "verify.py needs only Python 3 (standard library) and the `openssl` command (OpenSSL 3). In the "
        "unpacked folder run:", "",
        f"    {STANDALONE_COMMAND}", "",
        "It checks MANIFEST.sha256, recomputes every log hash and link (SPEC §10), checks the checkpoint "
        "signature with `openssl pkeyutl -verify -pubin -rawin`, and ties every register and approvals row "
        "to its log entries, and the access review files to their access.* entries, both ways. It prints "
        "\"verify.py: OK ...\" and exits 0, or names the first failure and exits 1. Read it first: it is "
        "short, and what it checks is all it claims. Add `--key-id <id>` with "
        "the key id your organisation keeps on record to have it refuse any other key.",
        "", "4. Policy", "",
        f"policy.toml is the policy in force, SHA-256 {policy.sha256}"
        + (f" (config.loaded at log seq {policy.log_seq})." if policy.log_seq else
           " (read from the policy file: no config.loaded entry in the log)."),
    ]
    if policy.sha256 != services.config.sha256:
        lines.append(f"Note: the policy file where the pack was built has SHA-256 {services.config.sha256}; "
                     "the service has not loaded it yet.")
    lines += ["", "5. Reconciliation of protected branches against recorded deployments", ""]
    for r in results:
        lines.extend(r.lines())
    for note in notes:
        lines.append(f"NOTE {note['repo']}: {note['detail']}")
    if not results and not notes:
        lines.append("No repository has attested hooks in the log; nothing to reconcile.")
    return "\n".join(lines) + "\n"
