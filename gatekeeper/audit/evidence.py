"""The evidence pack (SPEC §9-§12): one zip an auditor can check without trusting the people who run it.

Order of work, so that every table is a function of the signed log (issue 21):
  1. reconcile the protected branches against git, and log what it found (``audit.reconciled``):
     the one input the log cannot derive by itself;
  2. project the log up to that entry (``verifier.projection``, the code the pack's ``verify.py``
     runs again) into the tables, and write them with the files bound to them (policy, controls,
     access review, report, verification.txt) into the zip, hashing each;
  3. log ``audit.exported`` (period, filters, the SHA-256 of every derived file) and, in the same
     transaction, sign the checkpoint of the log ending with it (legacy signature and C2SP note);
  4. ask the configured witnesses to cosign it (``witness.client``);
  5. add ``log.jsonl`` (seq 1 to that checkpoint), ``proofs.jsonl``, ``checkpoint.json``, the public
     key and ``MANIFEST.sha256`` (``verify.py`` is bound by its SHA-256 in the export entry).
Everything streams; the Merkle tree for the proofs is kept in memory (about 64 bytes per entry).
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

from git import GitCommandError

from gatekeeper.actions.context import Services
from gatekeeper.audit import controls, packtext, reconcile, register
from gatekeeper.audit.packzip import Pack
from gatekeeper.audit.xlsx import write_xlsx
from gatekeeper.errors import InputError, LedgerBroken
from gatekeeper.ledger import events
from gatekeeper.ledger.checkpoint import public_key_pem, sign
from gatekeeper.ledger.merkle import TreeBuilder, leaf_hash
from gatekeeper.ledger.verify import verify_lines
from gatekeeper.policy.categories import is_protected
from gatekeeper.verifier import bundle
from gatekeeper.verifier.checks import DERIVED
from gatekeeper.verifier.files import Proofs
from gatekeeper.verifier.projection import Params, Tables, project
from gatekeeper.verifier.tables import (
    APPROVAL_COLUMNS,
    DRIFT_COLUMNS,
    EXCEPTION_COLUMNS,
    METRICS_COLUMNS,
    POLICY_HISTORY_COLUMNS,
    REGISTER_COLUMNS,
)

FILES = ("register.csv", "register.xlsx", "approvals.csv", "exceptions.csv", "log.jsonl", "checkpoint.json",
         "public-key.pem", "verification.txt", "policy.toml", "policy-history.csv", "access-review.csv",
         "controls.md", "drift.csv", "metrics.csv", "report.html", "verify.py", "proofs.jsonl")
VERIFY_COMMAND = packtext.VERIFY_COMMAND
STANDALONE_COMMAND = packtext.STANDALONE_COMMAND


def _private_key(services: Services) -> Any:
    from gatekeeper.store.signing import load_private_key

    path = Path(services.config.service.signing_key)
    if not path.exists():
        raise InputError(f"no signing key at {path}: the evidence pack needs a signed checkpoint; create "
                         "the key with `gatekeeper keys generate` (or start `gatekeeper serve`, which "
                         "creates it)")
    return load_private_key(path)


def exporter() -> str:
    """Who exports from the command line: the operating-system account (the API passes the auditor)."""
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "(command line)"


def build_pack(services: Services, start: str, end: str, out: IO[bytes], *, now: str | None = None,
               actor: str | None = None) -> int:
    """Write the evidence pack for [start, end) to ``out``; returns the number of CRs in the register."""
    from gatekeeper.store import log as ledger_log
    from gatekeeper.witness.client import cosign

    now = now or register.utc_now()
    run = _Run(services, start, end, now, actor or exporter(), _private_key(services), services.config.service.origin)
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
            entry = ledger_log.append(session, exported.KIND, run.actor, exported.to_payload())
            cp = ledger_log.checkpoint_of(session, entry, run.key, run.origin)
        cp, _refusals = cosign(services.config, services.store, cp)          # 4. (refusals are logged, on /audit)
        _log_and_proofs(pack, services, cp, tables)                          # 5.
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
        from gatekeeper.store import log as ledger_log

        with self.services.store.read() as session:
            self.results, self.notes = reconcile_all(self.services, session, self.start, self.end)
        found = [*(row for r in self.results for row in r.exceptions(self.now)), *self.notes]
        self.lines = [*(line for r in self.results for line in r.lines()),
                      *(f"NOTE {n['repo']}: {n['detail']}" for n in self.notes)]
        event = events.AuditReconciled(from_=self.start, to=self.end, rows=tuple(found), lines=tuple(self.lines))
        with self.services.store.write() as session:
            return ledger_log.append(session, event.KIND, self.actor, event.to_payload()).seq

    def derived(self, pack: Pack, params: Params) -> Tables:
        """The projection of the log up to ``params.upto`` and every file derived from it, into the pack."""
        from gatekeeper.audit import report
        from gatekeeper.store import log as ledger_log
        from gatekeeper.store import tree

        svc, upto = self.services, params.upto
        with svc.store.read() as session:
            tables = project(params, _entries(session, upto))
            upto_hash = next(iter(ledger_log.rows(session, after=upto - 1, upto=upto)))[6]
            # the report's checkpoint: the log up to ``upto`` (the pack's own is signed after the export entry)
            report_cp = sign(upto, upto_hash, self.now, self.key, origin=self.origin,
                             root=tree.root(session.connection(), upto))
            outcome = verification_outcome(lambda: verify_lines(_lines(session, upto), [report_cp],
                                                                self.key.public_key()))
        _tables(pack, tables)
        policy = _policy(tables)
        pack.put("policy.toml", policy.raw)
        pack.csv("access-review.csv", controls.ACCESS_COLUMNS, controls.access_rows(svc.config, svc.directory))
        controls_text = controls.controls_md(_policy_config(svc, policy), policy, self.now, report_cp.key_id)
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


def _log_and_proofs(pack: Pack, services: Services, cp: Any, tables: Tables) -> None:
    """``log.jsonl`` from seq 1 to the checkpoint, and ``proofs.jsonl`` from its tree (kept in memory)."""
    from gatekeeper.store import log as ledger_log

    built, hashes = TreeBuilder(keep=True), bytearray()
    with tempfile.TemporaryFile() as log_file, services.store.read() as session:
        for r in ledger_log.rows(session, upto=cp.seq):
            log_file.write(_row_line(r))
            raw = bytes.fromhex(r[6])
            built.append(leaf_hash(raw))
            hashes += raw
        log_file.seek(0)
        pack.file("log.jsonl", log_file)  # type: ignore[arg-type]
    with pack.text("proofs.jsonl") as text:
        for line in Proofs(built, cp.seq).lines(tables.proof_seqs, hashes):
            text.write(line.decode("ascii"))


def _entries(session: Any, upto: int) -> Iterator[tuple[int, str, str, str, Any, bytes]]:
    """The stored entries with their payload's canonical text (stored byte for byte: ``store.log.append``)."""
    from gatekeeper.store import log as ledger_log

    for seq, ts, kind, actor, payload, _prev, _hash in ledger_log.rows(session, upto=upto):
        yield seq, ts, kind, actor, json.loads(payload), payload.encode("utf-8")


def _lines(session: Any, upto: int) -> Iterator[bytes]:
    from gatekeeper.store import log as ledger_log

    for r in ledger_log.rows(session, upto=upto):
        yield _row_line(r)


def _row_line(r: Any) -> bytes:
    from gatekeeper.ledger.jsonl import row_line

    return row_line(*r)


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


def _policy(tables: Tables) -> controls.PolicyInForce:
    raw = tables.policy.encode("utf-8")
    ts = next((h["ts"] for h in tables.policy_history if h["log_seq"] == tables.policy_seq), None)
    return controls.PolicyInForce(raw, tables.policy_sha256 or hashlib.sha256(raw).hexdigest(), tables.policy_seq, ts)


def verification_outcome(run: Any) -> str:
    """``RESULT: OK`` and the summary, or ``RESULT: FAILED`` and why (verification.txt, report.html)."""
    try:
        summary = run()
    except LedgerBroken as exc:
        return f"RESULT: FAILED\ngatekeeper: log verify: {exc.message}"
    except InputError as exc:
        return f"RESULT: FAILED (unusable input)\ngatekeeper: error: {exc.message}"
    return f"RESULT: OK\n{summary.describe()}"


def reconcile_all(services: Services, session: Any, start: str, end: str
                  ) -> tuple[list[reconcile.Result], list[dict[str, Any]]]:
    """Reconcile every protected branch of every repo whose attested bare repo is reachable from here."""
    results: list[reconcile.Result] = []
    notes: list[dict[str, Any]] = []
    for name, (seq, payload) in sorted(reconcile.attested_repos(session).items()):
        repo_cfg = services.config.repo(name)
        if repo_cfg is None:
            continue
        path = Path(str(payload.get("path", "")))
        try:
            if not path.is_dir():
                raise InputError("no such folder")
            with reconcile.open_repo(str(path)) as (gitrepo, local):
                branches = sorted(h.name for h in gitrepo.heads if is_protected(h.name, repo_cfg.protected))
                for i, branch in enumerate(branches):
                    results.append(reconcile.reconcile(session, gitrepo, local, name, branch, start, end,
                                                       drift=i == 0))
                if not branches:
                    r = reconcile.Result(repo=name, ref="", start=start, end=end, tip=None)
                    reconcile.check_drift(session, local, name, r)
                    results.append(r)
        except (InputError, GitCommandError) as exc:
            reason = exc.message if isinstance(exc, InputError) else str(exc.stderr).strip()
            notes.append({"kind": "reconcile-gap", "at": register.utc_now(), "actor": None, "repo": name,
                          "ref": None, "change_id": None, "log_seq": seq,
                          "detail": f"not reconciled: the bare repo attested at {path} cannot be read from "
                                    f"where this pack was built ({reason}); run `gatekeeper audit "
                                    "reconcile` on the git server"})
    return results, notes


def _policy_config(services: Services, policy: controls.PolicyInForce) -> Any:
    from gatekeeper.config import parse
    from gatekeeper.errors import ConfigError

    if policy.raw == services.config.raw:
        return services.config
    try:
        return parse(policy.raw, services.config.path)
    except ConfigError:
        return services.config

