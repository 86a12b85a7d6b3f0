"""The checks of an evidence pack, in order (SPEC §12). Standard library and the ``openssl`` command.

  (0) the folder holds regular files with plain names only (``packdir``), the ones a pack must hold;
  (1) MANIFEST.sha256 lists exactly the other files, and each one's SHA-256 matches;
  (2) log.jsonl runs from seq 1, every hash and link recomputes (``chain``), and it ends with the
      pack's own ``audit.exported`` entry;
  (3) checkpoint.json signs that last entry (seq, hash) with public-key.pem's key, and its C2SP note
      signs the Merkle tree of exactly those entries with the same key;
  (4) witnesses: each cosignature by a witness key you gave verifies; at least ``min-witnesses`` do;
  (5) every key rotation in the log is signed by the key before it; the origin is pinned when a key
      id you gave is the signing key or leads to it through those rotations;
  (6) ``--since``: your old checkpoint is signed by a key of that chain, and the log's tree at its
      size has its root: the history it covered was not rewritten;
  (7) every file derived from the log equals the projection of the signed log for the exported
      period, both ways, and its SHA-256 is the one the export entry records (``files``);
  (8) proofs.jsonl, which packs no longer carry (the whole tree is recomputed in (2)): if a pack has
      it, the inclusion proof of every log seq register.csv and approvals.csv name, each valid.

What passing proves and what it cannot: docs/audit.md.
"""

from __future__ import annotations

import base64
import binascii
import gc
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.ledger.note import (
    SIG_ED25519,
    NoteVerifier,
    parse_checkpoint_body,
    parse_signature_line,
    split_note,
    verify_signatures,
)
from gatekeeper.verifier.chain import LogPass
from gatekeeper.verifier.files import (
    FILE_CHECKS,
    HEX64,
    Context,
    bound_by_hash,
    render_ahead,
    rendered_sha256,
    settle,
)
from gatekeeper.verifier.logread import MAX_LINE, Failed, strict_json
from gatekeeper.verifier.packdir import NAME, list_pack, open_file, read_small, sha256_of
from gatekeeper.verifier.parallel import in_worker, log_pass
from gatekeeper.verifier.projection import Params, Projection
from gatekeeper.verifier.since import since_check, since_size
from gatekeeper.verifier.tables import REGISTER_COLUMNS
from gatekeeper.verifier.trust import Trust, follows, key_chain, key_id_of, openssl_verify, pem_of, pem_public_key

MANIFEST = "MANIFEST.sha256"
REQUIRED = (MANIFEST, "log.jsonl", "checkpoint.json", "public-key.pem", "verification.txt", "verify.py")
# Files derived from the log: the export entry must record each one's SHA-256.
DERIVED = ("register.csv", "register.xlsx", "approvals.csv", "exceptions.csv", "drift.csv", "metrics.csv",
           "policy.toml", "policy-history.csv", "access-review.csv", "access-changes.csv", "controls.md", "report.html",
           "verification.txt", "comments.csv")
CHECKPOINT_DOMAIN = b"gatekeeper.checkpoint.v1\x00"
CHECKPOINT_FIELDS = ("seq", "hash", "ts", "key_id", "signature")

Ed25519 = Callable[[bytes, bytes, bytes], bool]


@dataclass
class Options:
    key_ids: set[str] = field(default_factory=set)    # --key-id (and the trust file's keys)
    trust: Trust = field(default_factory=Trust)
    since: bytes | None = None                         # the old checkpoint's file
    ed25519: Ed25519 = openssl_verify
    self_sha256: str | None = None                     # the running verifier's own SHA-256
    jobs: int = 0                                      # processes for the log (0: one per core; 1: no workers)
    parallel_min: int | None = None                    # workers only for a log this long (None: parallel's own)


@dataclass
class Outcome:
    pinned: bool
    key_id: str
    chain: list[str]


def verify(folder: str, opts: Options, emit: Callable[[str], None]) -> Outcome:
    """All checks; ``emit`` gets each line as it is established. Raises ``Failed`` at the first failure.

    Python's cycle collector is off meanwhile: the projection holds a record per change request (a
    million-entry log makes a hundred thousand), and each collection of the oldest generation walks
    them all, several times over a pass, for nothing: the checks make no reference cycles."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _verify(folder, opts, emit)
    finally:
        if collecting:
            gc.enable()


def _verify(folder: str, opts: Options, emit: Callable[[str], None]) -> Outcome:
    # (0) the folder
    files = list_pack(folder)
    for name in REQUIRED:
        if name not in files:
            raise Failed(f"{name} is missing: run the verifier on the unpacked evidence pack (a pack made by "
                         "this version of Gatekeeper)")
    cp = _checkpoint(read_small(folder, "checkpoint.json"))
    body, signatures = _note(cp)
    tail, params = _export_entry(folder, files)
    p = tail["payload"]
    emit(f"export: {tail.get('ts')} by {tail.get('actor')}, period {p['from']} .. {p['to']} (audit.exported, "
         f"log seq {tail.get('seq')}; claims, verified below)")
    emit(f"checkpoint: tree size {body.size} of {body.origin}, signed {cp['ts']} by key {cp['key_id']}; "
         f"{len(cp.get('cosignatures', []))} witness cosignature(s)")
    # (1) the manifest
    hashes = _manifest(folder, files)
    emit(f"OK {MANIFEST}: lists all {len(files) - 1} other files; their SHA-256 match (log.jsonl below)")
    # (2) the log, its tree and the projection
    old = since_size(opts.since) if opts.since is not None else None
    with open_file(folder, "log.jsonl") as fh:
        lp, projection = log_pass(fh, files["log.jsonl"], lambda: Projection(params, names=False), params.upto,
                                  *(old or (0, 0)), jobs=opts.jobs, parallel_min=opts.parallel_min)
    _log_matches(lp, cp, hashes, tail)
    hashes["log.jsonl"] = lp.sha256
    root = lp.tree.root()
    emit(f"OK log.jsonl: {lp.size} entries from seq 1, every hash and link recomputed; Merkle tree root "
         f"{base64.b64encode(root).decode()}")
    # (3) the signatures of the checkpoint
    pem = read_small(folder, "public-key.pem")
    pack_key = pem_public_key(pem.decode("ascii", "replace"), "public-key.pem")
    if pem != pem_of(pack_key).encode("ascii"):
        raise Failed("public-key.pem is not in the canonical PEM form Gatekeeper writes (the file was altered)")
    kid = key_id_of(pack_key)
    _signatures(cp, body, signatures, pack_key, kid, root, lp, opts)
    emit(f"OK checkpoint.json: key {kid} signs seq {cp['seq']} (hash {cp['hash'][:16]}...) and the C2SP checkpoint "
         f"of the {lp.size}-entry tree (openssl)")
    # (4) witnesses
    emit(_witnesses(cp, _text(cp["note"]), opts))
    # (5) key rotations and the origin
    known, chain = _key_rotations(lp, pack_key, kid, opts, emit)
    # (6) since the last engagement
    if opts.since is not None:
        emit(since_check(opts.since, opts.ed25519, lp, body.origin, known, chain))
    # (7) the files derived from the log, and (8) the proofs
    _export_files(p, files, tail)
    _derived_files(folder, hashes, tail, projection, lp, files, opts, emit)
    _verifier(p, hashes, opts, emit)
    return Outcome(pinned=chain is not None, key_id=kid, chain=chain or [])


def _export_entry(folder: str, files: dict[str, int]) -> tuple[dict[str, Any], Params]:
    """The log's last entry, which must be the pack's own ``audit.exported``, and the parameters it records."""
    with open_file(folder, "log.jsonl") as fh:
        tail = _tail(fh, files["log.jsonl"])
    if tail.get("kind") != "audit.exported":
        raise Failed(f"log.jsonl ends with {tail.get('kind')!r} at seq {tail.get('seq')}, not with the pack's own "
                     "audit.exported entry: the log was cut short, or this is not a whole evidence pack")
    try:
        return tail, Params.from_export(tail["payload"])
    except (ValueError, TypeError, KeyError) as exc:
        raise Failed(f"log.jsonl seq {tail.get('seq')} (audit.exported): {exc}") from None


def _key_rotations(lp: LogPass, pack_key: bytes, kid: str, opts: Options, emit: Callable[[str], None]
                   ) -> tuple[dict[str, bytes], list[str] | None]:
    """The keys the log's rotations make known, and the chain from the pinned key to the pack's (None:
    nothing pinned); a pack whose key the pinned one does not lead to fails."""
    known, rotations = key_chain(lp.keys, pack_key)
    pinned = opts.key_ids | opts.trust.key_ids
    chain = follows(pinned, kid, rotations) if pinned else None
    if pinned and chain is None:
        raise Failed(f"the pack is signed by key {kid}, which is not the key you pinned ({', '.join(sorted(pinned))}) "
                     "and no key rotation signed by it leads there: a re-signed or foreign log")
    if rotations:
        emit(f"OK key rotations: {' -> '.join([rotations[0][1], *(r[2] for r in rotations)])}, each signed by the "
             "key before (openssl)")
    return known, chain


def _derived_files(folder: str, hashes: dict[str, str], tail: dict[str, Any], projection: Projection, lp: LogPass,
                   files: dict[str, int], opts: Options, emit: Callable[[str], None]) -> None:
    """Each table recomputed from the log and compared; any other listed file bound by its hash.
    register.csv is rendered by a worker while ``finish`` works out the rest (``files.render_ahead``)."""
    p = tail["payload"]
    ahead = {"register.csv": in_worker(lambda: rendered_sha256(REGISTER_COLUMNS, projection.register_values(), True),
                                       opts.jobs)}
    try:
        ctx = Context(folder, hashes, int(tail["seq"]), p["files"], projection.finish(), lp, rendered=ahead)
        render_ahead(ctx)
        for name, check in FILE_CHECKS.items():
            if name in files:
                emit(check(ctx))
    finally:
        settle(ahead)
    for name in sorted(p["files"]):
        if name not in ctx.checked and name not in FILE_CHECKS:
            emit(bound_by_hash(ctx, name))


def _verifier(p: dict[str, Any], hashes: dict[str, str], opts: Options, emit: Callable[[str], None]) -> None:
    """The pack's verify.py is the one the export entry records; say whether the auditor ran that copy."""
    if p.get("verifier_sha256") and hashes["verify.py"] != p["verifier_sha256"]:
        raise Failed("verify.py: not the verifier the export entry records (it was replaced)")
    same = opts.self_sha256 == hashes["verify.py"]
    emit(f"OK verify.py: the verifier the export entry records (SHA-256 {hashes['verify.py'][:16]}...); "
         + ("you ran that copy: check its SHA-256 against docs/audit.md" if same else
            f"you ran another verifier (SHA-256 {str(opts.self_sha256)[:16]}...)"))


def _checkpoint(data: bytes) -> dict[str, Any]:
    cp = strict_json(data, "checkpoint.json")
    if isinstance(cp, dict) and canon(cp) + b"\n" != data:
        raise Failed("checkpoint.json is not in the canonical form Gatekeeper writes (the file was altered)")
    if not isinstance(cp, dict) or not set(CHECKPOINT_FIELDS) <= set(cp) or set(cp) - {*CHECKPOINT_FIELDS, "note",
                                                                                          "cosignatures"}:
        raise Failed(f"checkpoint.json: a checkpoint holds the fields {', '.join(CHECKPOINT_FIELDS)}, note and "
                     "cosignatures")
    seq = cp["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise Failed("checkpoint.json: seq must be a positive integer")
    if not isinstance(cp["hash"], str) or not HEX64.fullmatch(cp["hash"]):
        raise Failed("checkpoint.json: hash must be 64 lowercase hex digits")
    if not all(isinstance(cp[k], str) for k in ("ts", "key_id", "signature")):
        raise Failed("checkpoint.json: ts, key_id and signature must be strings")
    if not isinstance(cp.get("note"), str):
        raise Failed("checkpoint.json: no C2SP note (field 'note'): not a pack of this version")
    cos = cp.get("cosignatures", [])
    if not isinstance(cos, list) or not all(isinstance(c, str) for c in cos):
        raise Failed("checkpoint.json: cosignatures must be a list of note signature lines")
    return cp


def _note(cp: dict[str, Any]) -> tuple[Any, list[Any]]:
    try:
        text, signatures = split_note(cp["note"])
        body = parse_checkpoint_body(text)
    except ValueError as exc:
        raise Failed(f"checkpoint.json: note: {exc}") from None
    return body, signatures


def _tail(fh: IO[bytes], size: int) -> dict[str, Any]:
    """The last line of log.jsonl, parsed (read backwards in chunks, at most ``MAX_LINE`` bytes)."""
    chunks: list[bytes] = []
    end, newlines, total = size, 0, 0
    while end > 0 and newlines < 2 and total <= MAX_LINE:
        start = max(0, end - (1 << 16))
        fh.seek(start)
        chunk = fh.read(end - start)
        chunks.append(chunk)
        newlines += chunk.count(b"\n")
        total += len(chunk)
        end = start
    data = b"".join(reversed(chunks))
    lines = data.rstrip(b"\n").rsplit(b"\n", 1)
    if not data.endswith(b"\n") or not lines[-1] or total > MAX_LINE:
        raise Failed("log.jsonl is empty or does not end with a newline (the file was cut off), or its last line "
                     "is not a log entry")
    entry = strict_json(lines[-1], "log.jsonl, its last line")
    if not isinstance(entry, dict) or not isinstance(entry.get("payload"), dict):
        raise Failed("log.jsonl, its last line: not a log entry")
    return entry


def _manifest(folder: str, files: dict[str, int]) -> dict[str, str]:
    text = read_small(folder, MANIFEST)
    try:
        lines = text.decode("utf-8").split("\n")  # only \n ends a line (splitlines also splits on \v, \f, ...)
    except UnicodeDecodeError:
        raise Failed(f"{MANIFEST} is not UTF-8 text (the file was altered)") from None
    listed: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        m = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if m is None:
            raise Failed(f"{MANIFEST} line {n} is not `<sha256>  <file>` (the manifest was altered)")
        if m.group(2) in listed:
            raise Failed(f"{MANIFEST} lists {m.group(2)} twice")
        if not NAME.fullmatch(m.group(2)):
            raise Failed(f"{MANIFEST} line {n} names {m.group(2)!r}, which is not a file at the pack's root")
        listed[m.group(2)] = m.group(1)
    for name in sorted(files):
        if name != MANIFEST and name not in listed:
            raise Failed(f"{name} is in the folder but not listed in {MANIFEST} (unpack the pack into an empty folder)")
    for name in sorted(listed):
        if name not in files:
            raise Failed(f"{name} is listed in {MANIFEST} but missing")
    hashes = {}
    for name in sorted(listed):
        if name == "log.jsonl":
            continue  # hashed while it is verified
        actual = sha256_of(folder, name)
        if actual != listed[name]:
            raise Failed(f"{name}: SHA-256 {actual[:16]}... differs from {MANIFEST}'s {listed[name][:16]}... "
                         "(the file was altered)")
        hashes[name] = actual
    hashes[MANIFEST + ":log.jsonl"] = listed["log.jsonl"]
    return hashes


def _log_matches(lp: LogPass, cp: dict[str, Any], hashes: dict[str, str], tail: dict[str, Any]) -> None:
    want = hashes.pop(MANIFEST + ":log.jsonl")
    if lp.sha256 != want:
        raise Failed(f"log.jsonl: SHA-256 {lp.sha256[:16]}... differs from {MANIFEST}'s {want[:16]}... "
                     "(the file was altered)")
    if lp.size < cp["seq"]:
        raise Failed(f"log.jsonl ends at seq {lp.size} but checkpoint.json signs seq {cp['seq']} (truncated)")
    if lp.size > cp["seq"]:
        raise Failed(f"log.jsonl goes on to seq {lp.size}, past the signed checkpoint of seq {cp['seq']}")
    if lp.head_hash != cp["hash"]:
        raise Failed(f"seq {lp.size}: hash {lp.head_hash[:16]}... differs from the signed checkpoint's "
                     f"{cp['hash'][:16]}... (the log was rewritten)")
    if lp.last != tail:
        raise Failed("log.jsonl changed while it was being verified")


def _signatures(cp: dict[str, Any], body: Any, signatures: list[Any], pack_key: bytes, kid: str, root: bytes,
                lp: LogPass, opts: Options) -> None:
    if cp["key_id"] != kid:
        raise Failed(f"checkpoint.json names key {cp['key_id']}, but public-key.pem is key {kid}")
    try:
        signature = base64.b64decode(cp["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise Failed("checkpoint.json: the signature is not base64") from None
    message = CHECKPOINT_DOMAIN + canon({k: cp[k] for k in ("seq", "hash", "ts", "key_id")})
    if not opts.ed25519(pack_key, message, signature):
        raise Failed("checkpoint.json: the Ed25519 signature does not verify with public-key.pem (forged or altered)")
    if body.size != lp.size or body.root != root:
        raise Failed(f"checkpoint.json: the note signs a tree of {body.size} entries with root "
                     f"{base64.b64encode(body.root).decode()}, not the tree of log.jsonl ({lp.size} entries, root "
                     f"{base64.b64encode(root).decode()})")
    log_key = NoteVerifier(body.origin, SIG_ED25519, pack_key)
    try:
        ok = verify_signatures(_text(cp["note"]), signatures, [log_key], opts.ed25519)
    except ValueError as exc:
        raise Failed(f"checkpoint.json: note: {exc}") from None
    if not ok:
        raise Failed(f"checkpoint.json: the note carries no signature of {body.origin} by key {kid}")


def _text(note: str) -> str:
    return split_note(note)[0]


def _witnesses(cp: dict[str, Any], text: str, opts: Options) -> str:
    try:
        sigs = [parse_signature_line(line) for line in cp.get("cosignatures", [])]
    except ValueError as exc:
        raise Failed(f"checkpoint.json: cosignatures: {exc}") from None
    names = sorted({s.name for s in sigs})
    if not opts.trust.witnesses:
        if not sigs:
            return "NOTE witnesses: no witness cosigned this checkpoint"
        return (f"NOTE witnesses: cosigned by {', '.join(names)} (not checked: give the witnesses' keys with "
                "--trust)")
    try:
        verified = verify_signatures(text, sigs, opts.trust.witnesses, opts.ed25519)
    except ValueError as exc:
        raise Failed(f"checkpoint.json: witness {exc}") from None
    who = {v.name: v.timestamp for v in verified}
    if len(who) < opts.trust.min_witnesses:
        raise Failed(f"witnesses: {len(who)} of the witnesses you trust cosigned this checkpoint "
                     f"({', '.join(sorted(who)) or 'none'}); you require {opts.trust.min_witnesses}")
    if not who:
        return "NOTE witnesses: none of the witnesses you trust cosigned this checkpoint"
    at = ", ".join(f"{n} at {datetime.fromtimestamp(t or 0, UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
                   for n, t in sorted(who.items()))
    return (f"OK witnesses: cosigned by {at} (openssl); each cosigns only a tree that extends every tree it "
            "cosigned before")


def _export_files(p: dict[str, Any], files: dict[str, int], tail: dict[str, Any]) -> None:
    recorded = p.get("files")
    if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()):
        raise Failed(f"log.jsonl seq {tail.get('seq')} (audit.exported): files must map names to SHA-256")
    for name in DERIVED:
        if name not in recorded:
            raise Failed(f"{name}: the export entry (log seq {tail.get('seq')}) does not record it")
    for name in recorded:
        if name not in files:
            raise Failed(f"{name} is missing: the export entry (log seq {tail.get('seq')}) records it")

