"""Property (issue 21): for random logs, any change to any one file of the pack (behind a re-made
manifest, or with the whole log rewritten and re-signed by another key) never verifies with the origin
pinned. The untouched pack always does. Half the examples check the log in parts by forked workers
(``verifier.parallel``, however short the log), half in one process."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.ledger.checkpoint import ed25519_verify, key_id
from gatekeeper.verifier import bundle, cli, parallel
from tests.support.packs import remanifest, resign, write_pack

KEY = Ed25519PrivateKey.from_private_bytes(b"\x0b" * 32)
KID = key_id(KEY.public_key())
USERS = ("alice", "bob", "carol", "erin")
FILES = ("register.csv", "register.xlsx", "approvals.csv", "exceptions.csv", "drift.csv", "metrics.csv",
         "policy.toml", "policy-history.csv", "access-review.csv", "comments.csv", "controls.md", "report.html",
         "verification.txt", "log.jsonl", "checkpoint.json", "public-key.pem", "verify.py")


@st.composite
def logs(draw: st.DrawFn) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Entries of the kinds the tables are made of, with plausible payloads and rising times."""
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    policy = draw(st.sampled_from(["a = 1\n", "b = 2\n"]))
    out.append(("2026-01-01T00:00:00.000000Z", "config.loaded", "gatekeeper",
                {"sha256": hashlib.sha256(policy.encode()).hexdigest(), "policy": policy}))
    for i in range(draw(st.integers(1, 12))):
        ts = f"2026-01-{1 + i // 4:02d}T{(i * 5) % 24:02d}:00:00.{i:06d}Z"
        cid = draw(st.integers(1, 4))
        who = draw(st.sampled_from(USERS))
        kind = draw(st.sampled_from(["change.opened", "change.approved", "change.rejected", "change.deployed",
                                     "emergency.deployed", "push.refused", "drift.checked", "change.sign_refused",
                                     "change.withdrawn", "change.commented"]))
        fp = draw(st.sampled_from(["a" * 64, "b" * 64]))
        payload: dict[str, Any] = {
            "change.opened": {"change_id": cid, "repo": "r", "target": "main", "revision": 1, "fingerprint": fp,
                              "pusher": who, "title": draw(st.text(max_size=8)), "ticket": "", "state": "pending",
                              "categories": ["c"], "financial": draw(st.booleans()), "sod_findings": [],
                              "approvals_required": [{"group": "g", "count": 1}]},
            "change.approved": {"change_id": cid, "revision": 1, "fingerprint": fp, "signer": who, "name": who,
                                "group": "g", "decision": "approve", "meaning": "ok", "comment": "",
                                "memberships": [{"group": "g", "via": ["g"]}], "state": "approved"},
            "change.rejected": {"change_id": cid, "revision": 1, "fingerprint": fp, "signer": who, "name": who,
                                "group": "g", "decision": "reject", "meaning": "no", "comment": "x",
                                "memberships": [], "state": "rejected"},
            "change.deployed": {"change_id": cid, "repo": "r", "ref": "refs/heads/main", "old": "0" * 40,
                                "new": "1" * 40, "state": "deployed"},
            "emergency.deployed": {"change_id": cid, "repo": "r", "ref": "refs/heads/main", "new": "2" * 40,
                                   "reason": "down", "deadline": "2026-01-02T00:00:00Z", "state": "emergency"},
            "push.refused": {"repo": "r", "pusher": who, "refs": [{"ref": "refs/heads/main", "allow": False,
                                                                   "reasons": ["lacks 1 approval"]}]},
            "drift.checked": {"source": "s", "repo": "r", "path": "p", "result": "in line", "summary": "ok"},
            "change.sign_refused": {"change_id": cid, "signer": who, "decision": "approve", "reasons": "took part"},
            "change.withdrawn": {"change_id": cid, "reason": "x", "state": "withdrawn"},
            "change.commented": {"change_id": cid, "revision": 1, "commenter": who, "name": who,
                                 "comment": draw(st.text(max_size=8))},
        }[kind]
        out.append((ts, kind, who, payload))
    return out


def verify(folder: Path, in_parts: bool = False) -> int:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.MonkeyPatch.context() as mp:
        if in_parts:
            mp.setattr(parallel, "PARALLEL_MIN", 0)
        return cli.run(cli.parser().parse_args(["--key-id", KID, str(folder)]), bundle.sha256(), str(folder),
                       ed25519=ed25519_verify)


def tamper(data: bytes, op: str, at: int, byte: int) -> bytes:
    i = at % max(len(data), 1)
    if op == "flip":
        return data[:i] + bytes([data[i] ^ (byte or 1)]) + data[i + 1:] if data else b"x"
    if op == "insert":
        return data[:i] + bytes([byte]) + data[i:]
    if op == "truncate":
        return data[:i]
    lines = data.splitlines(keepends=True)
    j = at % max(len(lines), 1)
    if op == "drop line":
        return b"".join(lines[:j] + lines[j + 1:])
    return b"".join(lines[:j + 1] + lines[j:])  # a line twice


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs(), name=st.sampled_from(FILES),
       op=st.sampled_from(["flip", "insert", "truncate", "drop line", "duplicate line", "resign"]),
       at=st.integers(0, 1 << 30), byte=st.integers(0, 255), in_parts=st.booleans())
def test_no_tampered_pack_verifies_with_a_pinned_origin(log: list[Any], name: str, op: str, at: int,
                                                         byte: int, in_parts: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pack"
        write_pack(folder, log, KEY, start="2026-01-01T00:00:00.000000Z", end="2026-02-01T00:00:00.000000Z",
                   now="2026-01-05T00:00:00.000000Z")
        assert verify(folder, in_parts) == 0
        if op == "resign":  # every file made to agree again, signed by another key
            resign(folder, Ed25519PrivateKey.generate(), lambda e: (e[0], e[1], e[2], json.loads(
                json.dumps(e[3]).replace('"r"', '"r2"'))))
        else:
            before = (folder / name).read_bytes()
            after = tamper(before, op, at, byte)
            if after == before:
                shutil.rmtree(folder)
                return
            (folder / name).write_bytes(after)
            remanifest(folder)
        assert verify(folder, in_parts) != 0
