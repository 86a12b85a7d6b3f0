#!/usr/bin/env python3
"""verify.py: check a Gatekeeper evidence pack with nothing but Python 3 and the `openssl` command.

Run it inside the unpacked pack:  python3 verify.py [--key-id ID] [FOLDER]
Exit 0 when everything verifies; exit 1 naming the first failure. ``--key-id`` is the id of the
signing key your organisation keeps on record (logged as key.created): without it, the pack's own
public key is trusted and its id printed for you to compare. It needs no Gatekeeper, no pip
package and no network: only the Python standard library and OpenSSL 3 (for Ed25519). The checks,
in order:

  1. MANIFEST.sha256 (sha256sum format) lists every other file of the folder, and each file's
     SHA-256 matches (this file included);
  2. public-key.pem is an Ed25519 key whose id (first 16 hex digits of SHA-256 of the raw 32-byte
     key) is the one checkpoint.json names, and checkpoint.json's signature over
     b"gatekeeper.checkpoint.v1\\x00" + canon({seq, hash, ts, key_id}) verifies with
     `openssl pkeyutl -verify -pubin -rawin`;
  3. log.jsonl runs from seq 1 with no gap; each prev_hash is the hash of the entry before (64 zeros
     for seq 1); each hash recomputes as
     sha256(b"gatekeeper.log.v1\\x00" + canon({seq, ts, kind, actor, payload, prev_hash}))
     where canon is JSON with sorted keys, separators "," and ":", no ASCII escaping, UTF-8;
     every log.checkpoint entry certifies the entry before it (its signature is checked too when
     it was made with this key); and the log ends exactly at the signed checkpoint;
  4. every register.csv row is tied to its log entries: each of its log_seqs is an entry about that
     change, its fingerprint, approvals and deployed commit appear in those entries; every
     approvals.csv row is the signature its log_seq records; every exceptions.csv log_seq exists;
  5. access-review.csv is the access.decided entries of its reviews, both ways, and each signed
     review's rows and decisions hash to what its access.review_opened / _signed entries certify;
     access-changes.csv is what the access.snapshot entries say, replayed from the first one (each
     snapshot's rights recomputed and hashed), both ways.

This file is copied verbatim from gatekeeper/audit/verify_standalone.py into each pack.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

MANIFEST = "MANIFEST.sha256"
REQUIRED = ("MANIFEST.sha256", "log.jsonl", "checkpoint.json", "public-key.pem", "register.csv", "approvals.csv",
            "exceptions.csv", "verify.py")
LOG_DOMAIN = b"gatekeeper.log.v1\x00"
CHECKPOINT_DOMAIN = b"gatekeeper.checkpoint.v1\x00"
GENESIS = "0" * 64
ENTRY_FIELDS = ("seq", "ts", "kind", "actor", "payload", "prev_hash", "hash")
CHECKPOINT_FIELDS = ("seq", "hash", "ts", "key_id", "signature")
# DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it.
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
HEX64 = re.compile(r"[0-9a-f]{64}")
CHANGE_KEYS = ("change_id", "change_ids", "deploys")


class Failed(Exception):
    """The first check that failed; its message is what the auditor reads."""


def canon(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("duplicate key")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(name + " is not JSON")


def strict_json(text: bytes | str, where: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failed(f"{where}: not valid JSON ({exc})") from None


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- 1. the manifest ---------------------------------------------------------------------------
def check_manifest(folder: str) -> int:
    path = os.path.join(folder, MANIFEST)
    if not os.path.isfile(path):
        raise Failed(f"{MANIFEST} is missing: run verify.py inside the unpacked evidence pack")
    listed: dict[str, str] = {}
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Failed(f"{MANIFEST} is not UTF-8 text (the file was altered)") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if m is None:
            raise Failed(f"{MANIFEST} line {n} is not `<sha256>  <file>` (the manifest was altered)")
        name = m.group(2)
        if name in listed:
            raise Failed(f"{MANIFEST} lists {name} twice")
        if "/" in name or "\\" in name or name in (".", ".."):
            raise Failed(f"{MANIFEST} line {n} names {name!r}, which is not a file at the pack's root")
        listed[name] = m.group(1)
    for name in REQUIRED:
        if name != MANIFEST and name not in listed:
            raise Failed(f"{name} is not listed in {MANIFEST}")
    present = sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))
    for name in present:
        if name != MANIFEST and name not in listed:
            raise Failed(f"{name} is in the folder but not listed in {MANIFEST} (unpack the pack into an "
                         "empty folder)")
    for name in sorted(listed):
        file_path = os.path.join(folder, name)
        if not os.path.isfile(file_path):
            raise Failed(f"{name} is listed in {MANIFEST} but missing")
        actual = sha256_file(file_path)
        if actual != listed[name]:
            raise Failed(f"{name}: SHA-256 {actual[:16]}... differs from {MANIFEST}'s {listed[name][:16]}... "
                         "(the file was altered)")
    return len(listed)


# -- 2. key and checkpoint -----------------------------------------------------------------------
def read_public_key(folder: str) -> str:
    with open(os.path.join(folder, "public-key.pem"), "rb") as fh:
        text = fh.read().decode("ascii", "replace")
    m = re.search(r"-----BEGIN PUBLIC KEY-----(.+?)-----END PUBLIC KEY-----", text, re.S)
    if m is None:
        raise Failed("public-key.pem: no PEM public key in it")
    try:
        der = base64.b64decode("".join(m.group(1).split()), validate=True)
    except ValueError:
        raise Failed("public-key.pem: the PEM body is not base64") from None
    if len(der) != 44 or not der.startswith(ED25519_SPKI):
        raise Failed("public-key.pem: not an Ed25519 public key")
    return hashlib.sha256(der[12:]).hexdigest()[:16]


def parse_checkpoint(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict) or sorted(data) != sorted(CHECKPOINT_FIELDS):
        raise Failed(f"{where}: a checkpoint holds exactly the fields {', '.join(CHECKPOINT_FIELDS)}")
    seq = data["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise Failed(f"{where}: seq must be a positive integer")
    if not isinstance(data["hash"], str) or not HEX64.fullmatch(data["hash"]):
        raise Failed(f"{where}: hash must be 64 lowercase hex digits")
    if not all(isinstance(data[k], str) for k in ("ts", "key_id", "signature")):
        raise Failed(f"{where}: ts, key_id and signature must be strings")
    return data


def openssl_verify(folder: str, message: bytes, signature_b64: str, where: str) -> None:
    """Ed25519 over ``message`` with public-key.pem, by `openssl pkeyutl -verify -pubin -rawin` (OpenSSL 3)."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError:
        raise Failed(f"{where}: the signature is not base64") from None
    if len(signature) != 64:
        raise Failed(f"{where}: the signature is not 64 bytes (Ed25519)")
    with tempfile.TemporaryDirectory(prefix="gatekeeper-verify-") as tmp:
        msg, sig = os.path.join(tmp, "message"), os.path.join(tmp, "signature")
        with open(msg, "wb") as fh:
            fh.write(message)
        with open(sig, "wb") as fh:
            fh.write(signature)
        try:
            proc = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                                   os.path.join(folder, "public-key.pem"), "-rawin", "-in", msg, "-sigfile", sig],
                                  capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise Failed("the `openssl` command was not found: install OpenSSL 3 to check signatures") from None
    if proc.returncode != 0 or "Signature Verified Successfully" not in proc.stdout:
        problem = (proc.stderr or proc.stdout).strip().splitlines()
        if problem and "Signature Verification Failure" not in problem[0] and "pkeyutl" in problem[0]:
            raise Failed(f"{where}: openssl could not check the signature ({problem[0]}); OpenSSL 3 is needed")
        raise Failed(f"{where}: the Ed25519 signature does not verify with public-key.pem (forged or altered)")


def check_checkpoint(folder: str, kid: str) -> dict[str, Any]:
    with open(os.path.join(folder, "checkpoint.json"), "rb") as fh:
        cp = parse_checkpoint(strict_json(fh.read(), "checkpoint.json"), "checkpoint.json")
    if cp["key_id"] != kid:
        raise Failed(f"checkpoint.json names key {cp['key_id']}, but public-key.pem is key {kid}")
    message = CHECKPOINT_DOMAIN + canon({k: cp[k] for k in ("seq", "hash", "ts", "key_id")})
    openssl_verify(folder, message, cp["signature"], "checkpoint.json")
    return cp


# -- 3. the log ----------------------------------------------------------------------------------
def changes_named(payload: Any) -> set[int]:
    """Every change id an entry's payload names (``change_id``, ``change_ids``, any key containing
    ``change_id``, a ref's ``deploys``), at any depth: the links ``log_seqs`` are made of."""
    found: set[int] = set()
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in CHANGE_KEYS or "change_id" in key:  # change_id, change_ids, deploys, intent_change_id…
                    values = value if isinstance(value, list) else [value]
                    found.update(v for v in values if isinstance(v, int) and not isinstance(v, bool))
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def remember(index: dict[int, tuple[str, set[int], dict[str, Any]]], seq: int, entry: dict[str, Any]) -> None:
    """Keep what the register checks need of an entry that names changes."""
    named = changes_named(entry["payload"])
    if named:
        index[seq] = (entry["kind"], named, entry["payload"])


def index_log(lines: Any) -> tuple[int, dict[int, tuple[str, set[int], dict[str, Any]]]]:
    """The index ``check_log`` builds, from log lines another verifier already checked
    (``gatekeeper audit verify-pack``)."""
    index: dict[int, tuple[str, set[int], dict[str, Any]]] = {}
    n = 0
    for n, line in enumerate(lines, 1):
        remember(index, n, json.loads(line))
    return n, index


def check_log(folder: str, cp: dict[str, Any], kid: str) -> tuple[int, dict[int, tuple[str, set[int], dict[str, Any]]]]:
    """Recompute the chain; returns {seq: (kind, change ids, payload)} of entries that name changes."""
    index: dict[int, tuple[str, set[int], dict[str, Any]]] = {}
    prev, n = GENESIS, 0
    with open(os.path.join(folder, "log.jsonl"), "rb") as fh:
        for n, line in enumerate(fh, 1):
            where = f"log.jsonl line {n}"
            entry = strict_json(line, where)
            if not isinstance(entry, dict) or sorted(entry) != sorted(ENTRY_FIELDS):
                raise Failed(f"{where}: an entry holds exactly the fields {', '.join(ENTRY_FIELDS)}")
            seq = entry["seq"]
            if isinstance(seq, bool) or not isinstance(seq, int) or seq != n:
                raise Failed(f"{where}: seq {seq!r} where seq {n} was expected (an entry is missing, "
                             "duplicated or reordered)")
            if not isinstance(entry["payload"], dict):
                raise Failed(f"seq {n}: payload is not an object")
            if entry["prev_hash"] != prev:
                raise Failed(f"seq {n}: prev_hash does not match the hash of seq {n - 1}" if n > 1 else
                             "seq 1: prev_hash is not the genesis hash (64 zeros)")
            body = {k: entry[k] for k in ENTRY_FIELDS if k != "hash"}
            try:
                computed = hashlib.sha256(LOG_DOMAIN + canon(body)).hexdigest()
            except (TypeError, ValueError) as exc:
                raise Failed(f"seq {n}: cannot encode the entry canonically ({exc})") from None
            if computed != entry["hash"]:
                raise Failed(f"seq {n}: hash does not recompute from the entry's fields (the entry was edited)")
            if entry["kind"] == "log.checkpoint":
                inner = parse_checkpoint(entry["payload"], f"seq {n} (log.checkpoint)")
                if inner["seq"] != n - 1 or inner["hash"] != prev:
                    raise Failed(f"seq {n}: the log.checkpoint does not certify the entry before it")
                if inner["key_id"] == kid:
                    message = CHECKPOINT_DOMAIN + canon({k: inner[k] for k in ("seq", "hash", "ts", "key_id")})
                    openssl_verify(folder, message, inner["signature"], f"seq {n} (log.checkpoint)")
            remember(index, n, entry)
            prev = computed
            if n == cp["seq"] and prev != cp["hash"]:
                raise Failed(f"seq {n}: hash {prev[:16]}... differs from the signed checkpoint's "
                             f"{cp['hash'][:16]}... (the log was rewritten up to here)")
    if n < cp["seq"]:
        raise Failed(f"log.jsonl ends at seq {n} but checkpoint.json signs seq {cp['seq']} (truncated)")
    if n > cp["seq"]:
        raise Failed(f"log.jsonl goes on to seq {n}, past the signed checkpoint of seq {cp['seq']}")
    return n, index


# -- 4. register and approvals tied to the log ---------------------------------------------------
def read_csv(folder: str, name: str) -> list[dict[str, str]]:
    with open(os.path.join(folder, name), encoding="utf-8", newline="") as fh:
        try:
            return list(csv.DictReader(fh))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise Failed(f"{name}: not readable CSV ({exc})") from None


def _int(text: str, where: str) -> int:
    text = text.strip().lstrip("'")
    if not text.isdigit():
        raise Failed(f"{where}: {text!r} is not a number")
    return int(text)


def check_register(folder: str, head: int, index: dict[int, tuple[str, set[int], dict[str, Any]]]) -> int:
    rows = read_csv(folder, "register.csv")
    for row in rows:
        cid = _int(row.get("change_id") or "", "register.csv change_id")
        where = f"register.csv, change {cid}"
        seqs = [_int(s, f"{where}: log_seqs") for s in (row.get("log_seqs") or "").split()]
        if not seqs:
            raise Failed(f"{where}: no log_seqs")
        entries = []
        for seq in seqs:
            if seq > head:
                raise Failed(f"{where}: log seq {seq} is past the end of log.jsonl (seq {head})")
            if seq not in index or cid not in index[seq][1]:
                raise Failed(f"{where}: log seq {seq} is not an entry about change {cid}")
            entries.append(index[seq])
        kinds = {kind for kind, _, _ in entries}
        if not kinds & {"change.opened", "emergency.deployed"}:
            raise Failed(f"{where}: none of its log seqs records how it was opened (change.opened)")
        fp = row.get("fingerprint") or ""
        if fp and not any(p.get("fingerprint") == fp for k, _, p in entries if k in ("change.opened",
                                                                                      "change.revised")):
            raise Failed(f"{where}: fingerprint {fp[:12]} is not the one its log entries record")
        commit = row.get("deployed_commit") or ""
        if commit and not any(p.get("new") == commit for _, _, p in entries):
            raise Failed(f"{where}: deployed_commit {commit[:12]} is not in its log entries")
        for who in re.findall(r"(?:^|; )(\S+) \(", row.get("approvals") or ""):
            if not any(k == "change.approved" and p.get("signer") == who for k, _, p in entries):
                raise Failed(f"{where}: the approval by {who} is not in its log entries")
        state = row.get("state") or ""
        if state == "deployed" and "change.deployed" not in kinds:
            raise Failed(f"{where}: state deployed, but no change.deployed entry among its log seqs")
    return len(rows)


def check_approvals(folder: str, head: int, index: dict[int, tuple[str, set[int], dict[str, Any]]]) -> int:
    rows = read_csv(folder, "approvals.csv")
    for row in rows:
        cid = _int(row.get("change_id") or "", "approvals.csv change_id")
        seq = _int(row.get("log_seq") or "", f"approvals.csv, change {cid}: log_seq")
        where = f"approvals.csv, change {cid}, log seq {seq}"
        if seq > head or seq not in index or cid not in index[seq][1]:
            raise Failed(f"{where}: not an entry about change {cid} in log.jsonl")
        kind, _, p = index[seq]
        expected = "change.approved" if row.get("decision") == "approve" else "change.rejected"
        if kind != expected or p.get("signer") != row.get("username") or p.get("fingerprint") != row.get(
                "fingerprint"):
            raise Failed(f"{where}: the log records {kind} by {p.get('signer')}, not this signature")
    return len(rows)


def check_exceptions(folder: str, head: int) -> int:
    rows = read_csv(folder, "exceptions.csv")
    for row in rows:
        text = (row.get("log_seq") or "").strip()
        if text and _int(text, "exceptions.csv log_seq") > head:
            raise Failed(f"exceptions.csv: log seq {text} is past the end of log.jsonl (seq {head})")
    return len(rows)


# -- 5. the access review tied to the log (SPEC §12, issue 24) -----------------------------------
ACCESS_COLUMNS = ("username", "name", "right", "repo", "category", "group", "via", "conflicts", "last_activity",
                  "dormant")
ACCESS_REVIEW_COLUMNS = (*ACCESS_COLUMNS, "decision", "decided_by", "decided_at", "log_seq")
ACCESS_CHANGE_COLUMNS = ("day", "change", "username", "name", "right", "repo", "category", "group", "via",
                         "disabled", "log_seq")
RIGHTS_DOMAIN = b"gatekeeper.access.v1\x00"
ROWS_DOMAIN = b"gatekeeper.access-review.v1\x00"
DECISIONS_DOMAIN = b"gatekeeper.access-decisions.v1\x00"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def access_entries(lines: Any) -> dict[int, dict[str, Any]]:
    """The access.* (and audit.exported) entries of log.jsonl's lines (already verified by
    ``check_log``), by seq."""
    found: dict[int, dict[str, Any]] = {}
    for line in lines:
        if b'"kind":"access.' in line or b'"kind":"audit.exported"' in line:
            entry = json.loads(line)
            found[entry["seq"]] = entry
    return found


def pack_period(folder: str, entries: dict[int, dict[str, Any]]) -> tuple[str, str] | None:
    """The pack's period ``[from, to)``: from the log's last ``audit.exported`` entry when it has one
    (signed with the log), else from verification.txt's ``Period: FROM .. TO`` line."""
    exported = [e["payload"] for _, e in sorted(entries.items()) if e["kind"] == "audit.exported"]
    if exported and isinstance(exported[-1].get("from"), str) and isinstance(exported[-1].get("to"), str):
        return exported[-1]["from"], exported[-1]["to"]
    path = os.path.join(folder, "verification.txt")
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            m = re.search(r"^Period: (\S+) \.\. (\S+)", fh.read(), re.M)
        if m:
            return m.group(1), m.group(2)
    return None


def unguard(cell: str) -> str:
    """A CSV cell as written before the formula guard (a leading ' before = + - @ tab CR)."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA else cell


def text_of(value: Any) -> str:
    """A value as the pack's CSV writes it (booleans true/false, None empty)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _header(folder: str, name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with open(os.path.join(folder, name), encoding="utf-8", newline="") as fh:
        first = fh.readline().strip("\r\n")
    if first.split(",") != list(columns):
        raise Failed(f"{name}: the header is not {', '.join(columns)}")
    return read_csv(folder, name)


def in_period(ts: str, period: tuple[str, str] | None) -> bool:
    return period is None or period[0] <= ts < period[1]


def check_access_review(folder: str, head: int, entries: dict[int, dict[str, Any]],
                        period: tuple[str, str] | None = None) -> int:
    """Every row is the access.decided entry its log_seq names; every decision of each review the
    file names (with ``period``: of each review with an entry in it) is a row; a signed review's
    rows and decisions hash to what its opened and signed entries certify."""
    rows = _header(folder, "access-review.csv", ACCESS_REVIEW_COLUMNS)
    decided = {seq: e for seq, e in entries.items() if e["kind"] == "access.decided"}
    seen: set[int] = set()
    reviews: set[int] = set()
    for n, row in enumerate(rows, 2):
        seq = _int(row.get("log_seq") or "", f"access-review.csv line {n}: log_seq")
        where = f"access-review.csv line {n} (log seq {seq})"
        e = decided.get(seq)
        if seq > head or e is None:
            raise Failed(f"{where}: not an access.decided entry of log.jsonl")
        if seq in seen:
            raise Failed(f"{where}: the decision is listed twice")
        seen.add(seq)
        p = e["payload"]
        cols = p.get("columns") or {}
        expected = {**{c: text_of(cols.get(c)) for c in ACCESS_COLUMNS}, "decision": text_of(p.get("decision")),
                    "decided_by": e["actor"], "decided_at": e["ts"]}
        for column, value in expected.items():
            if unguard(row.get(column) or "") != value:
                raise Failed(f"{where}: {column} {row.get(column)!r} is not what the log records ({value!r})")
        reviews.add(int(p.get("review_id") or 0))
    if period is not None:
        reviews |= {int(e["payload"].get("review_id") or 0) for e in entries.values()
                    if e["kind"] in ("access.review_opened", "access.decided", "access.review_signed")
                    and in_period(e["ts"], period)}
    for seq, e in sorted(decided.items()):
        if int(e["payload"].get("review_id") or 0) in reviews and seq not in seen:
            raise Failed(f"access-review.csv: the decision at log seq {seq} (access review "
                         f"{e['payload'].get('review_id')}) is missing")
    for review in sorted(reviews):
        _check_signed_review(review, entries, decided)
    return len(rows)


def _check_signed_review(review: int, entries: dict[int, dict[str, Any]], decided: dict[int, dict[str, Any]]) -> None:
    opened = [e["payload"] for e in entries.values() if e["kind"] == "access.review_opened"
              and e["payload"].get("review_id") == review]
    signed = [e["payload"] for e in entries.values() if e["kind"] == "access.review_signed"
              and e["payload"].get("review_id") == review]
    if not signed:
        return  # still open: nothing is certified yet
    where = f"access review {review}"
    if len(opened) != 1 or len(signed) != 1:
        raise Failed(f"{where}: the log holds {len(opened)} opening(s) and {len(signed)} signature(s), not one each")
    mine = sorted((s, e) for s, e in decided.items() if e["payload"].get("review_id") == review)
    positions = [e["payload"].get("row") for _, e in mine]
    if sorted(positions) != list(range(1, len(mine) + 1)) or len(mine) != opened[0].get("rows"):
        raise Failed(f"{where}: its decisions do not cover rows 1..{opened[0].get('rows')} once each")
    items = sorted([[e["payload"]["columns"].get(c) for c in ACCESS_COLUMNS] for _, e in mine])
    rows_hash = hashlib.sha256(ROWS_DOMAIN + canon(items)).hexdigest()
    if not rows_hash == opened[0].get("rows_sha256") == signed[0].get("rows_sha256"):
        raise Failed(f"{where}: the decided rows do not hash to the rows_sha256 it was opened and signed for")
    decisions = sorted([e["payload"].get("row"), e["payload"].get("decision"), s] for s, e in mine)
    if hashlib.sha256(DECISIONS_DOMAIN + canon(decisions)).hexdigest() != signed[0].get("decisions_sha256"):
        raise Failed(f"{where}: the decisions do not hash to the decisions_sha256 it was signed for")
    revoked = sum(1 for d in decisions if d[1] == "revoke")
    if (signed[0].get("kept"), signed[0].get("revoked")) != (len(mine) - revoked, revoked):
        raise Failed(f"{where}: the signature's kept/revoked counts differ from its decisions")


Replayed = list[tuple[int, str, dict[str, Any], list[tuple[str, list[Any]]]]]


def replay_access(entries: dict[int, dict[str, Any]]) -> Replayed:
    """Replay every access.snapshot from the first: each must follow from the one before, and the
    rights it leaves must hash to its rights_sha256. Returns (seq, ts, payload, [(change, right)])."""
    state: dict[tuple[Any, ...], list[Any]] = {}
    out = []
    last: int | None = None
    for seq, e in sorted(entries.items()):
        if e["kind"] != "access.snapshot":
            continue
        p = e["payload"]
        where = f"seq {seq} (access.snapshot)"
        if p.get("previous_seq") != last:
            raise Failed(f"{where}: previous_seq {p.get('previous_seq')} is not the snapshot before ({last})")
        changes: list[tuple[str, list[Any]]] = []
        for what in ("lost", "changed", "gained"):
            for item in p.get(what) or []:
                if not isinstance(item, list) or len(item) != 8:
                    raise Failed(f"{where}: a {what} right is not 8 values")
                key = tuple(item[:5])
                if what == "lost" and state.get(key) != item:
                    raise Failed(f"{where}: lost right {key} was not held as recorded")
                if what == "changed" and (key not in state or state[key] == item):
                    raise Failed(f"{where}: changed right {key} was not held, or did not change")
                if what == "gained" and key in state:
                    raise Failed(f"{where}: gained right {key} was already held")
                if what == "lost":
                    del state[key]
                else:
                    state[key] = item
                changes.append(("baseline" if what == "gained" and last is None else what, item))
        digest = hashlib.sha256(RIGHTS_DOMAIN + canon(sorted(state.values()))).hexdigest()
        if digest != p.get("rights_sha256") or len(state) != p.get("count"):
            raise Failed(f"{where}: the replayed rights do not hash to its rights_sha256 (or count)")
        out.append((seq, e["ts"], p, changes))
        last = seq
    return out


def check_access_changes(folder: str, head: int, entries: dict[int, dict[str, Any]],
                         period: tuple[str, str] | None = None) -> int:
    """access-changes.csv, both ways, against the snapshots it names (with ``period``: every snapshot
    logged in it), recomputed by replaying all of them from the first."""
    rows = _header(folder, "access-changes.csv", ACCESS_CHANGE_COLUMNS)
    replayed = replay_access(entries)
    named = {_int(r.get("log_seq") or "", "access-changes.csv log_seq") for r in rows}
    expected: list[tuple[str, ...]] = []
    for seq, ts, p, changes in replayed:
        if seq in named or (period is not None and in_period(ts, period)):
            expected += [(text_of(p.get("day")), what, *(text_of(v) for v in item[:6]), " > ".join(item[6]),
                          text_of(item[7]), str(seq)) for what, item in changes]
    got = [tuple(unguard(r.get(c) or "") for c in ("day", "change", "username", "right", "repo", "category",
                                                   "group", "name", "via", "disabled", "log_seq")) for r in rows]
    want = sorted(expected)
    if sorted(got) != want:
        extra = sorted(set(got) - set(want))
        missing = sorted(set(want) - set(got))
        what = f"row {extra[0]} is not a change the snapshots record" if extra else \
            f"the change {missing[0]} the snapshots record is missing"
        raise Failed(f"access-changes.csv: {what}")
    if any(int(r.get("log_seq") or 0) > head for r in rows):
        raise Failed("access-changes.csv: a log_seq is past the end of log.jsonl")
    return len(rows)


def check_access(folder: str, head: int, found: dict[int, dict[str, Any]]) -> list[str]:
    """Both access files against the log (``gatekeeper audit verify-pack`` runs this too)."""
    period = pack_period(folder, found)
    return [f"OK access-review.csv: {check_access_review(folder, head, found, period)} decisions are the "
            "log's, both ways, and signed reviews hash to what they certify",
            f"OK access-changes.csv: {check_access_changes(folder, head, found, period)} changes of rights "
            "recomputed from the access snapshots, both ways"]


def verify(folder: str, expected_key: str | None = None) -> list[str]:
    """All checks; returns the lines to print. Raises ``Failed`` at the first failure."""
    out = [f"OK {check_manifest(folder)} files match {MANIFEST}"]
    kid = read_public_key(folder)
    if expected_key is not None and kid != expected_key.strip().lower():
        raise Failed(f"public-key.pem is key {kid}, not the key {expected_key} you expect (--key-id)")
    cp = check_checkpoint(folder, kid)
    out.append(f"OK checkpoint.json: seq {cp['seq']} hash {cp['hash']} signed by key {kid} (openssl)")
    head, index = check_log(folder, cp, kid)
    out.append(f"OK log.jsonl: {head} entries from seq 1, every hash and link recomputed, ends at the checkpoint")
    out.append(f"OK register.csv: {check_register(folder, head, index)} rows tied to their log seqs")
    out.append(f"OK approvals.csv: {check_approvals(folder, head, index)} signatures are the ones the log records")
    out.append(f"OK exceptions.csv: {check_exceptions(folder, head)} rows point into the log")
    if all(os.path.isfile(os.path.join(folder, n)) for n in ("access-review.csv", "access-changes.csv")):
        with open(os.path.join(folder, "log.jsonl"), "rb") as fh:
            found = access_entries(fh)
        out += check_access(folder, head, found)
    out.append(f"verify.py: OK: the pack is intact; the log verifies from seq 1 to the checkpoint of seq {cp['seq']} "
               f"signed by key {kid}")
    return out


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="verify.py", description="Check a Gatekeeper evidence pack (exit 0 intact, "
                                 "1 naming the first failure).")
    ap.add_argument("folder", nargs="?", default=os.path.dirname(os.path.abspath(__file__)),
                    help="the unpacked pack (default: this file's folder)")
    ap.add_argument("--key-id", default=None, help="the signing key id you expect (16 hex digits)")
    args = ap.parse_args(argv[1:])
    try:
        for line in verify(args.folder, args.key_id):
            print(line)
    except Failed as exc:
        print(f"verify.py: FAILED: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a damaged pack (or a damaged verify.py) must still end in one clear line
        print(f"verify.py: FAILED: {type(exc).__name__}: {exc} (is every file of the pack intact? compare "
              f"verify.py's own SHA-256 with {MANIFEST})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
