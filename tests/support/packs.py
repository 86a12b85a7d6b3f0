"""Evidence packs made without a service: from entries, with the exporter's own writers and the
verifier's own projection. What a forger holding the pack (and maybe our code) can make: tests use it
to re-sign rewritten logs with a fresh key, the hypothesis test for random logs, the bench for a
million entries."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.audit.writers import write_csv
from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.checkpoint import public_key_pem, sign
from gatekeeper.ledger.entry import GENESIS_HASH, entry_hash
from gatekeeper.ledger.merkle import TreeBuilder, leaf_hash
from gatekeeper.verifier import bundle
from gatekeeper.verifier.access import CHANGE_COLUMNS, REVIEW_COLUMNS
from gatekeeper.verifier.checks import DERIVED, MANIFEST
from gatekeeper.verifier.projection import Params, Projection
from gatekeeper.verifier.tables import (
    APPROVAL_COLUMNS,
    COMMENT_COLUMNS,
    DRIFT_COLUMNS,
    EXCEPTION_COLUMNS,
    METRICS_COLUMNS,
    POLICY_HISTORY_COLUMNS,
    REGISTER_COLUMNS,
)

ORIGIN = "gatekeeper/test-plant"
Entry = tuple[str, str, str, dict[str, Any]]       # ts, kind, actor, payload


def csv_bytes(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO(newline="")
    write_csv(out, columns, rows)
    return out.getvalue().encode("utf-8")


def write_pack(folder: Path, entries: Iterable[Entry], key: Ed25519PrivateKey, *, start: str, end: str, now: str,
               bound: dict[str, bytes] | None = None, origin: str = ORIGIN) -> int:
    """A whole pack in ``folder`` whose log is ``entries`` (streamed: a million is fine) followed by the export
    entry; ``log.checkpoint`` entries are signed again with ``key`` (a forger re-signs those too). Returns
    the log's size."""
    folder.mkdir(parents=True, exist_ok=True)
    projection = Projection(Params(start, end, now, 1 << 62, None, {}))
    tree, prev, seq = TreeBuilder(), GENESIS_HASH, 0

    def add(fh: Any, seq: int, ts: str, kind: str, actor: str, payload: dict[str, Any]) -> str:
        h = entry_hash(seq, ts, kind, actor, payload, prev)
        fh.write(canon({"seq": seq, "ts": ts, "kind": kind, "actor": actor, "payload": payload, "prev_hash": prev,
                        "hash": h}) + b"\n")
        tree.append(leaf_hash(bytes.fromhex(h)))
        return h

    with open(folder / "log.jsonl", "wb") as fh:
        for seq, (ts, kind, actor, payload) in enumerate(entries, 1):
            if kind == "log.checkpoint":
                payload = sign(seq - 1, prev, ts, key).to_dict()
            prev = add(fh, seq, ts, kind, actor, payload)
            projection.add(seq, ts, kind, actor, payload)
        tables = projection.finish()
        files = {
            "register.csv": csv_bytes(REGISTER_COLUMNS, tables.register()),
            "approvals.csv": csv_bytes(APPROVAL_COLUMNS, tables.approvals()),
            "exceptions.csv": csv_bytes(EXCEPTION_COLUMNS, tables.exceptions),
            "drift.csv": csv_bytes(DRIFT_COLUMNS, tables.drift),
            "metrics.csv": csv_bytes(METRICS_COLUMNS, tables.metrics_rows()),
            "policy-history.csv": csv_bytes(POLICY_HISTORY_COLUMNS, tables.policy_history),
            "access-review.csv": csv_bytes(REVIEW_COLUMNS, tables.access_review),
            "access-changes.csv": csv_bytes(CHANGE_COLUMNS, tables.access_changes),
            "comments.csv": csv_bytes(COMMENT_COLUMNS, tables.comments),
            "policy.toml": tables.policy.encode("utf-8"),
            **{n: f"{n} of the export\n".encode() for n in ("register.xlsx", "controls.md", "report.html",
                                                              "verification.txt")},
            **(bound or {}),
        }
        verifier = bundle.build()
        export = {"from": start, "to": end, "filters": {}, "upto": seq, "now": now, "reconciled_seq": None,
                  "files": {n: hashlib.sha256(files[n]).hexdigest() for n in DERIVED},
                  "verifier_sha256": hashlib.sha256(verifier).hexdigest()}
        prev = add(fh, seq + 1, now, "audit.exported", "dave", export)
    size = seq + 1
    cp = sign(size, prev, now, key, origin=origin, root=tree.root())
    files.update({
        "checkpoint.json": cp.to_json(),
        "public-key.pem": public_key_pem(key.public_key()),
        "verify.py": verifier,
    })
    for name, data in files.items():
        (folder / name).write_bytes(data)
    remanifest(folder)
    return size


def add_proofs(folder: Path) -> None:
    """The ``proofs.jsonl`` packs carried before the verifier recomputed the whole tree: one RFC 6962
    inclusion proof per log seq the register and approvals name (a pack may still hold it)."""
    log = read_log(folder)
    export = log[-1]["payload"]
    tree = TreeBuilder(keep=True)
    projection = Projection(Params.from_export(export))
    for e in log:
        tree.append(leaf_hash(bytes.fromhex(e["hash"])))
        projection.add(e["seq"], e["ts"], e["kind"], e["actor"], e["payload"])
    lines = [canon({"hash": log[seq - 1]["hash"], "hashes": [h.hex() for h in tree.inclusion_proof(seq - 1)],
                    "leaf_index": seq - 1, "seq": seq, "tree_size": len(log)}) + b"\n"
             for seq in projection.finish().proof_seqs()]
    (folder / "proofs.jsonl").write_bytes(b"".join(lines))
    remanifest(folder)


def remanifest(folder: Path) -> None:
    """Re-make MANIFEST.sha256 as a forger would (it is not signed)."""
    names = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)
    (folder / MANIFEST).write_text("".join(f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
                                           for n in names))


def read_log(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "log.jsonl").read_bytes().splitlines()]


def resign(folder: Path, key: Ed25519PrivateKey, edit: Any = None, origin: str | None = None) -> None:
    """Rewrite a pack's log (``edit`` on each entry's (ts, kind, actor, payload)) and make every table, hash,
    proof and signature agree again, signed by ``key``: a complete forgery but for the key."""
    log = read_log(folder)
    export = log[-1]["payload"]
    entries: list[Entry] = [(e["ts"], e["kind"], e["actor"], e["payload"]) for e in log[:export["upto"]]]
    if edit is not None:
        entries = [edit(e) for e in entries]
    bound = {n: (folder / n).read_bytes() for n in ("register.xlsx", "access-review.csv", "controls.md",
                                                    "report.html", "verification.txt")}
    cp = json.loads((folder / "checkpoint.json").read_text())
    write_pack(folder, entries, key, start=export["from"], end=export["to"], now=export["now"], bound=bound,
               origin=origin or cp["note"].split("\n", 1)[0])
