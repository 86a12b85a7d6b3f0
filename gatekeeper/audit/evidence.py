"""The evidence pack (SPEC §9-§12): one zip an auditor can check without trusting the people who run it.

Order of work, so that every table is a function of the signed log (issue 21):
  1. reconcile the protected branches against git, and log what it found (``audit.reconciled``):
     the one input the log cannot derive by itself;
  2. project the log up to that entry (``verifier.projection``, the code the pack's ``verify.py``
     runs again) into the tables, and write them with the files bound to them (policy, controls,
     report, verification.txt) into the zip, hashing each;
  3. log ``audit.exported`` (period, filters, the SHA-256 of every derived file) and, in the same
     transaction, sign the checkpoint of the log ending with it (legacy signature and C2SP note);
  4. ask the configured witnesses to cosign it (``witness.client``);
  5. add ``log.jsonl`` (seq 1 to that checkpoint), ``checkpoint.json``, the public key and
     ``MANIFEST.sha256`` (``verify.py`` is bound by its SHA-256 in the export entry).
Everything streams. No ``proofs.jsonl``: the verifier recomputes the whole tree from the log in one
pass, which proves every entry at once; a sampled entry's proof comes from ``gatekeeper log prove``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from gatekeeper.actions.context import Services
from gatekeeper.audit import controls, packtext, reconcile, register, report
from gatekeeper.audit.packzip import Pack
from gatekeeper.audit.xlsx import write_xlsx
from gatekeeper.checkpoints.keys import require_private_key
from gatekeeper.checkpoints.sign import checkpoint_of
from gatekeeper.errors import LedgerBroken
from gatekeeper.ledger import events
from gatekeeper.ledger.checkpoint import public_key_pem, sign
from gatekeeper.ledger.jsonl import row_line
from gatekeeper.ledger.verify import verify_lines
from gatekeeper.store import log, tree
from gatekeeper.verifier import bundle
from gatekeeper.verifier.access import CHANGE_COLUMNS, REVIEW_COLUMNS
from gatekeeper.verifier.checks import DERIVED
from gatekeeper.verifier.projection import Params, Tables, project
from gatekeeper.verifier.tables import (
    APPROVAL_COLUMNS,
    COMMENT_COLUMNS,
    DRIFT_COLUMNS,
    EXCEPTION_COLUMNS,
    METRICS_COLUMNS,
    POLICY_HISTORY_COLUMNS,
    REGISTER_COLUMNS,
)

FILES = ("register.csv", "register.xlsx", "approvals.csv", "exceptions.csv", "log.jsonl", "checkpoint.json",
         "public-key.pem", "verification.txt", "policy.toml", "policy-history.csv", "access-review.csv",
         "access-changes.csv", "controls.md", "drift.csv", "metrics.csv", "report.html", "verify.py",
         "comments.csv")
VERIFY_COMMAND = packtext.VERIFY_COMMAND
STANDALONE_COMMAND = packtext.STANDALONE_COMMAND


def exporter() -> str:
    """Who exports from the command line: the operating-system account (the API passes the auditor)."""
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "(command line)"


def build_pack(services: Services, start: str, end: str, out: IO[bytes], *, now: str | None = None,
               actor: str | None = None) -> int:
    """Write the evidence pack for [start, end) to ``out``; returns the number of CRs in the register."""
    from gatekeeper.witness.client import cosign

    now = now or register.utc_now()
    key = require_private_key(Path(services.config.service.signing_key))
    run = _Run(services, start, end, now, actor or exporter(), key, services.config.service.origin)
    upto = run.reconcile()                                                   # 1.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        pack = Pack(zf)
        tables = run.derived(pack, Params(start, end, now, upto, upto, {}))  # 2.
        verifier = bundle.build()
        pack.put("verify.py", verifier)
        exported = events.AuditExported(from_=start, to=end, filters={}, upto=upto, now=now, reconciled_seq=upto,
                                        files={n: pack.digests[n] for n in DERIVED},
                                        verifier_sha256=hashlib.sha256(verifier).hexdigest())
        with services.store.write() as session:                             # 3.
            entry = log.append(session, exported, run.actor)
            cp = checkpoint_of(session, entry, run.key, run.origin)
        cp, _refusals = cosign(services.config, services.store, cp)          # 4. (refusals are logged, on /audit)
        _log(pack, services, cp)                                             # 5.
        pack.put("checkpoint.json", cp.to_json())
        pack.put("public-key.pem", public_key_pem(run.key.public_key()))
        pack.manifest()
    return len(tables.changes)


class _Run:
    """One export's inputs and the reconciliation it logged."""

    def __init__(self, services: Services, start: str, end: str, now: str, actor: str, key: Any, origin: str) -> None:
        self.services, self.start, self.end, self.now, self.actor = services, start, end, now, actor
        self.key, self.origin = key, origin
        self.results: list[reconcile.Result] = []
        self.notes: list[dict[str, Any]] = []
        self.lines: list[str] = []

    def reconcile(self) -> int:
        """Reconciliation against git, logged as ``audit.reconciled``; returns its seq (the tables' ``upto``)."""
        with self.services.store.read() as session:
            self.results, self.notes = reconcile.reconcile_all(self.services, session, self.start, self.end)
        found = [*(row for r in self.results for row in r.exceptions(self.now)), *self.notes]
        self.lines = [*(line for r in self.results for line in r.lines()),
                      *(f"NOTE {n['repo']}: {n['detail']}" for n in self.notes)]
        event = events.AuditReconciled(from_=self.start, to=self.end, rows=tuple(found), lines=tuple(self.lines))
        with self.services.store.write() as session:
            return log.append(session, event, self.actor).seq

    def derived(self, pack: Pack, params: Params) -> Tables:
        """The projection of the log up to ``params.upto`` and every file derived from it, into the pack."""
        svc, upto = self.services, params.upto
        with svc.store.read() as session:
            tables = project(params, _entries(session, upto))
            if tables.access.broken is not None:  # the access snapshots do not replay: no pack from a broken log
                raise LedgerBroken(*tables.access.broken)
            upto_hash = next(iter(log.rows(session, after=upto - 1, upto=upto)))[6]
            # the report's checkpoint: the log up to ``upto`` (the pack's own is signed after the export entry)
            report_cp = sign(upto, upto_hash, self.now, self.key, origin=self.origin,
                             root=tree.root(session.connection(), upto))
            outcome = report.verification_outcome(lambda: verify_lines(_lines(session, upto), [report_cp],
                                                                self.key.public_key()))
        _tables(pack, tables)
        policy = _policy(tables)
        pack.put("policy.toml", policy.raw)
        controls_text = controls.controls_md(controls.policy_config(svc.config, policy), policy, self.now,
                                             report_cp.key_id)
        pack.put("controls.md", controls_text.encode("utf-8"))
        pack.put("report.html", report.render(report.Report(
            start=self.start, end=self.end, built=self.now, metrics=tables.metrics, controls_md=controls_text,
            checkpoint=report_cp, verification=outcome, reconciliation=self.results, notes=self.notes,
            service_url=svc.config.service.url, policy_sha256=policy.sha256)).encode("utf-8"))
        pack.put("verification.txt", packtext.verification_text(
            start=self.start, end=self.end, now=self.now, actor=self.actor, key_id=report_cp.key_id,
            origin=self.origin, upto=upto, outcome=outcome, lines=self.lines, policy=policy,
            config_sha256=svc.config.sha256, tables=tables, verifier_sha256=bundle.sha256(),
            witnesses=[w.name for w in svc.config.ledger.witnesses]).encode("utf-8"))
        return tables


def _log(pack: Pack, services: Services, cp: Any) -> None:
    """``log.jsonl`` from seq 1 to the checkpoint."""
    with tempfile.TemporaryFile() as log_file, services.store.read() as session:
        for r in log.rows(session, upto=cp.seq):
            log_file.write(row_line(*r))
        log_file.seek(0)
        pack.file("log.jsonl", log_file)  # type: ignore[arg-type]


def _entries(session: Any, upto: int) -> Iterator[tuple[int, str, str, str, Any, bytes]]:
    """The stored entries with their payload's canonical text (stored byte for byte: ``store.log.append``)."""
    for seq, ts, kind, actor, payload, _prev, _hash in log.rows(session, upto=upto):
        yield seq, ts, kind, actor, json.loads(payload), payload.encode("utf-8")


def _lines(session: Any, upto: int) -> Iterator[bytes]:
    for r in log.rows(session, upto=upto):
        yield row_line(*r)


def _tables(pack: Pack, tables: Tables) -> None:
    """The projected tables into the pack (the register as CSV and XLSX)."""
    pack.csv("register.csv", REGISTER_COLUMNS, tables.register())
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as xlsx_file:
        write_xlsx(xlsx_file.name, REGISTER_COLUMNS, tables.register())
        with open(xlsx_file.name, "rb") as fh:
            pack.file("register.xlsx", fh)
    pack.csv("approvals.csv", APPROVAL_COLUMNS, tables.approvals())
    pack.csv("exceptions.csv", EXCEPTION_COLUMNS, tables.exceptions)
    pack.csv("drift.csv", DRIFT_COLUMNS, tables.drift)
    pack.csv("metrics.csv", METRICS_COLUMNS, tables.metrics_rows())
    pack.csv("policy-history.csv", POLICY_HISTORY_COLUMNS, tables.policy_history)
    pack.csv("access-review.csv", REVIEW_COLUMNS, tables.access_review)
    pack.csv("access-changes.csv", CHANGE_COLUMNS, tables.access_changes)
    pack.csv("comments.csv", COMMENT_COLUMNS, tables.comments)


def _policy(tables: Tables) -> controls.PolicyInForce:
    raw = tables.policy.encode("utf-8")
    ts = next((h["ts"] for h in tables.policy_history if h["log_seq"] == tables.policy_seq), None)
    return controls.PolicyInForce(raw, tables.policy_sha256 or hashlib.sha256(raw).hexdigest(), tables.policy_seq, ts)
