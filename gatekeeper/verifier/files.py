"""One check per pack file derived from the log (SPEC §12): ``FILE_CHECKS``. Standard library only.

Each table is compared with what the projection of the signed log says it must hold, row by row
and both ways: a row the log does not support, a row the log requires but the file lacks, or a cell
that differs fails, naming the file, the row and the log seq. Then its SHA-256 is compared with the
one the signed ``audit.exported`` entry records. Files that are renderings rather than tables
(``controls.md``, ``report.html``, ``register.xlsx``, ``verification.txt``) are bound by that hash alone.

To add a file: write ``def check_x(ctx: Context) -> str`` (return the OK line, raise ``Failed``) and
decorate it with ``@file_check("x.csv")``; a file the export lists but no check names is bound by
hash (``bound_by_hash``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.ledger.jsoncodec import canon, loads_strict
from gatekeeper.ledger.merkle import leaf_hash, verify_inclusion
from gatekeeper.verifier.access import CHANGE_COLUMNS, REVIEW_COLUMNS
from gatekeeper.verifier.chain import LogPass
from gatekeeper.verifier.logread import Failed
from gatekeeper.verifier.packdir import open_file, read_small
from gatekeeper.verifier.projection import Tables
from gatekeeper.verifier.tables import (
    APPROVAL_COLUMNS,
    COMMENT_COLUMNS,
    DRIFT_COLUMNS,
    EXCEPTION_COLUMNS,
    METRICS_COLUMNS,
    POLICY_HISTORY_COLUMNS,
    REGISTER_COLUMNS,
    cells,
    csv_pieces,
)

csv.field_size_limit(16 << 20)
HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Context:
    """What the per-file checks work from: the folder, the verified log and the projection."""

    folder: str
    hashes: dict[str, str]                # name -> SHA-256 of every file of the pack
    export_seq: int
    export_files: Mapping[str, str]       # what audit.exported recorded
    tables: Tables
    log: LogPass
    checked: set[str] = field(default_factory=set)
    # a table's (SHA-256, rows) of its rendering, worked out ahead (``render_ahead``; None: not after all)
    rendered: dict[str, Callable[[], tuple[str, int] | None]] = field(default_factory=dict)


FileCheck = Callable[[Context], str]
FILE_CHECKS: dict[str, FileCheck] = {}


def file_check(name: str) -> Callable[[FileCheck], FileCheck]:
    def register(fn: FileCheck) -> FileCheck:
        FILE_CHECKS[name] = fn
        return fn
    return register


def bound(ctx: Context, name: str) -> None:
    """``name``'s SHA-256 is the one the signed export entry recorded."""
    want = ctx.export_files.get(name)
    if want is None:
        raise Failed(f"{name}: the export entry (log seq {ctx.export_seq}) does not list it")
    if ctx.hashes.get(name) != want:
        raise Failed(f"{name}: SHA-256 {str(ctx.hashes.get(name))[:16]}... differs from the {want[:16]}... the signed "
                     f"export entry (log seq {ctx.export_seq}) records (the file was altered)")
    ctx.checked.add(name)


def bound_by_hash(ctx: Context, name: str) -> str:
    bound(ctx, name)
    return f"OK {name}: SHA-256 {ctx.hashes[name][:16]}... as the signed export entry records"


def _csv_rows(ctx: Context, name: str) -> Iterator[list[str]]:
    with open_file(ctx.folder, name) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            yield from csv.reader(text)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise Failed(f"{name}: not readable CSV ({exc})") from None


def compare(ctx: Context, name: str, columns: Sequence[str], expected: Callable[[], Iterable[Mapping[str, Any]]],
            label: Callable[[Mapping[str, Any]], str], key: Sequence[str],
            values: Callable[[], Iterable[Sequence[Any]]] | None = None) -> int:
    """The file's rows against the projection's (``expected()`` makes them afresh, one at a time), both
    ways; the first difference fails, named by the row and by ``label`` (which names the log seqs).

    First the expected table is rendered as the exporter writes it and hashed: when that is the file's
    SHA-256 the file is those rows, byte for byte (stricter than cell by cell), and is not read again.
    Only a file that differs is read row by row, to name where it differs. ``values`` gives the same rows
    as their values in column order, quicker to render (``tables.csv_pieces``)."""
    ahead = ctx.rendered.pop(name, None)
    done = ahead() if ahead is not None else None
    if done is None:
        done = rendered_sha256(columns, values(), values=True) if values else rendered_sha256(columns, expected())
    digest, n = done
    if digest == ctx.hashes.get(name):
        bound(ctx, name)
        return n
    return _compare_rows(ctx, name, columns, expected, label, key)


def render_ahead(ctx: Context) -> None:
    """approvals.csv rendered and hashed now, while register.csv's worker (``parallel.in_worker``, started
    before ``finish``: ``ctx.rendered``) may still be at work; ``compare`` takes their results."""
    try:
        approvals = rendered_sha256(APPROVAL_COLUMNS, ctx.tables.approvals_values(), values=True)
    except Exception:  # compare renders it again in its turn, where what is wrong is named
        return
    ctx.rendered["approvals.csv"] = lambda: approvals


def settle(rendered: dict[str, Callable[[], tuple[str, int] | None]]) -> None:
    """Wait for any worker rendering ahead whose result no check took (a check failed before)."""
    for ahead in rendered.values():
        ahead()
    rendered.clear()


def rendered_sha256(columns: Sequence[str], rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
                    values: bool = False) -> tuple[str, int]:
    """SHA-256 and row count of ``rows`` rendered as the pack's CSV (``tables.csv_pieces``, UTF-8)."""
    digest, n = hashlib.sha256(), 0
    for text, rows_in in csv_pieces(columns, rows, values):
        digest.update(text.encode("utf-8"))
        n += rows_in
    return digest.hexdigest(), n


def _compare_rows(ctx: Context, name: str, columns: Sequence[str],
                  expected: Callable[[], Iterable[Mapping[str, Any]]], label: Callable[[Mapping[str, Any]], str],
                  key: Sequence[str]) -> int:
    """``compare`` of a file that is not the rendering byte for byte: row by row, naming the first difference
    (a file equal cell by cell still fails below if its hash is not the one the export entry records)."""
    rows = _csv_rows(ctx, name)
    header = next(rows, None)
    if header != list(columns):
        raise Failed(f"{name}: the header is not {', '.join(columns)}")
    at = [columns.index(c) for c in key]
    want = iter(expected())
    n = 0
    for n, got in enumerate(rows, 1):
        exp = next(want, None)
        if exp is None:
            raise Failed(f"{name} row {n}: {', '.join(got[:3])}... is not in the log's tables for the period "
                         f"(the log supports {n - 1} rows)")
        w = cells(exp, columns)
        if got == w:
            continue
        got_key = tuple(got[i] for i in at) if len(got) == len(columns) else None
        if got_key == tuple(w[i] for i in at):
            i = next(i for i, (a, b) in enumerate(zip(got, w, strict=True)) if a != b)
            raise Failed(f"{name} row {n} ({label(exp)}): {columns[i]} is {got[i]!r} but the log records {w[i]!r}")
        if got_key in {tuple(cells(r, columns)[i] for i in at) for r in expected()}:
            raise Failed(f"{name} lacks {label(exp)} (before row {n}): the log records it")
        raise Failed(f"{name} row {n}: {', '.join(got[:3])}... is not in the log's tables for the period")
    missing = next(want, None)
    if missing is not None:
        raise Failed(f"{name} lacks {label(missing)}: the log records it")
    bound(ctx, name)
    return n


def _seqs(row: Mapping[str, Any]) -> str:
    seqs = row.get("log_seqs") or []
    return "log seqs " + " ".join(map(str, seqs)) if seqs else "no log seq"


@file_check("register.csv")
def check_register(ctx: Context) -> str:
    n = compare(ctx, "register.csv", REGISTER_COLUMNS, ctx.tables.register,
                lambda r: f"change {r.get('change_id')}, {_seqs(r)}", ("change_id",), ctx.tables.register_values)
    return f"OK register.csv: {n} rows, every change the log records for the period and nothing else"


@file_check("approvals.csv")
def check_approvals(ctx: Context) -> str:
    n = compare(ctx, "approvals.csv", APPROVAL_COLUMNS, ctx.tables.approvals,
                lambda r: f"change {r.get('change_id')}, signature by {r.get('username')} at log seq "
                          f"{r.get('log_seq')}", ("log_seq",), ctx.tables.approvals_values)
    return f"OK approvals.csv: {n} signatures, each the change.approved/rejected entry it names"


@file_check("exceptions.csv")
def check_exceptions(ctx: Context) -> str:
    n = compare(ctx, "exceptions.csv", EXCEPTION_COLUMNS, lambda: ctx.tables.exceptions,
                lambda r: f"the {r.get('kind')} exception at log seq {r.get('log_seq')}",
                ("kind", "log_seq", "ref", "change_id"))
    return f"OK exceptions.csv: {n} rows, every exception the log records for the period"


@file_check("drift.csv")
def check_drift(ctx: Context) -> str:
    n = compare(ctx, "drift.csv", DRIFT_COLUMNS, lambda: ctx.tables.drift,
                lambda r: f"the drift check at log seq {r.get('log_seq')}", ("log_seq",))
    return f"OK drift.csv: {n} drift checks, every drift.checked entry of the period"


@file_check("metrics.csv")
def check_metrics(ctx: Context) -> str:
    n = compare(ctx, "metrics.csv", METRICS_COLUMNS, ctx.tables.metrics_rows,
                lambda r: f"metric {r.get('metric')}", ("metric",))
    return f"OK metrics.csv: {n} figures recomputed from the log"


@file_check("policy-history.csv")
def check_policy_history(ctx: Context) -> str:
    n = compare(ctx, "policy-history.csv", POLICY_HISTORY_COLUMNS, lambda: ctx.tables.policy_history,
                lambda r: f"the config.loaded entry at log seq {r.get('log_seq')}", ("log_seq",))
    return f"OK policy-history.csv: {n} config.loaded entries"


@file_check("policy.toml")
def check_policy(ctx: Context) -> str:
    t = ctx.tables
    data = read_small(ctx.folder, "policy.toml")
    if data != t.policy.encode("utf-8"):
        where = f"the config.loaded entry at log seq {t.policy_seq}" if t.policy_seq else "the log (no config.loaded)"
        raise Failed(f"policy.toml is not the policy in force: SHA-256 {hashlib.sha256(data).hexdigest()[:16]}..., "
                     f"{where} records {hashlib.sha256(t.policy.encode()).hexdigest()[:16]}...")
    if t.policy_sha256 and hashlib.sha256(data).hexdigest() != t.policy_sha256:
        raise Failed(f"policy.toml: the config.loaded entry at log seq {t.policy_seq} records SHA-256 "
                     f"{t.policy_sha256[:16]}... but its own policy text hashes otherwise")
    bound(ctx, "policy.toml")
    return (f"OK policy.toml: the policy in force, logged as config.loaded at log seq {t.policy_seq}" if t.policy_seq
            else "OK policy.toml: empty, as the log records no config.loaded")


@file_check("access-review.csv")
def check_access_review(ctx: Context) -> str:
    n = compare(ctx, "access-review.csv", REVIEW_COLUMNS, lambda: ctx.tables.access_review,
                lambda r: f"the access.decided entry at log seq {r.get('log_seq')}", ("log_seq",))
    problem = ctx.tables.access.review_problem()
    if problem is not None:
        raise Failed(f"access-review.csv: {problem}")
    return (f"OK access-review.csv: {n} decisions, every access.decided entry of the period's reviews; each signed "
            "review's decisions hash to what it certifies")


@file_check("access-changes.csv")
def check_access_changes(ctx: Context) -> str:
    broken = ctx.tables.access.broken
    if broken is not None:
        raise Failed(f"access-changes.csv: log.jsonl seq {broken[0]}: {broken[1]}")
    n = compare(ctx, "access-changes.csv", CHANGE_COLUMNS, lambda: ctx.tables.access_changes,
                lambda r: f"{r.get('change')} {r.get('right')} of {r.get('username')} in the access.snapshot at log "
                          f"seq {r.get('log_seq')}", ("log_seq", "change", "username", "right", "repo", "category",
                                                      "group"))
    return f"OK access-changes.csv: {n} changes of rights, replayed from every access.snapshot since the first"


@file_check("comments.csv")
def check_comments(ctx: Context) -> str:
    n = compare(ctx, "comments.csv", COMMENT_COLUMNS, lambda: ctx.tables.comments,
                lambda r: f"the change.commented entry at log seq {r.get('log_seq')}", ("log_seq",))
    return f"OK comments.csv: {n} comments, every change.commented entry of the period"


PROOF_FIELDS = {"hash", "hashes", "leaf_index", "seq", "tree_size"}


@file_check("proofs.jsonl")
def check_proofs(ctx: Context) -> str:
    """Packs no longer carry proofs.jsonl (the verifier recomputes the whole tree, and ``gatekeeper log
    prove`` gives a sampled entry's proof); a pack that does (made before, or added since) must hold
    exactly the RFC 6962 inclusion proof of every log seq the register and approvals name, each checked
    against the signed root one line at a time (an inclusion proof is unique: a valid one is the one)."""
    seqs = ctx.tables.proof_seqs()
    root, size = ctx.log.tree.root(), ctx.log.size
    n = 0
    with open_file(ctx.folder, "proofs.jsonl") as fh:
        for n, line in enumerate(iter(lambda: fh.readline(1 << 20), b""), 1):
            if n > len(seqs):
                raise Failed(f"proofs.jsonl line {n}: more proofs than the {len(seqs)} log seqs the tables name")
            if not _proves(line, seqs[n - 1], size, root):
                raise Failed(f"proofs.jsonl line {n}: not the inclusion proof of log seq {seqs[n - 1]} in the tree "
                             f"of {size} entries")
    if n < len(seqs):
        raise Failed(f"proofs.jsonl lacks the inclusion proof of log seq {seqs[n]}")
    return f"OK proofs.jsonl: {n} inclusion proofs, one per log seq the register and approvals name"


def _proves(line: bytes, seq: int, size: int, root: bytes) -> bool:
    """Is ``line`` the canonical proofs.jsonl line proving log seq ``seq`` in the tree ``root`` of ``size``?"""
    try:
        p = loads_strict(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    if not isinstance(p, dict) or set(p) != PROOF_FIELDS or canon(p) + b"\n" != line:
        return False
    hashes = p["hashes"]
    if (p["seq"], p["leaf_index"], p["tree_size"]) != (seq, seq - 1, size) or not isinstance(hashes, list) \
            or not all(isinstance(h, str) and HEX64.fullmatch(h) for h in [p["hash"], *hashes]):
        return False
    return verify_inclusion(leaf_hash(bytes.fromhex(p["hash"])), seq - 1, size, [bytes.fromhex(h) for h in hashes],
                            root)
