"""One ``add-checkpoint`` request, decided as C2SP tlog-witness requires (SPEC §12). Pure.

The request body is ``old <size>``, up to 63 base64 consistency-proof lines, an empty line, then
the signed checkpoint note. In the spec's order: an unknown origin is 404; no valid signature by a
log key the witness trusts is 403; an old size above the checkpoint's is 400; an old size other
than the size of the latest checkpoint cosigned for that origin is 409 (body: that size,
``text/x.tlog.size``), as is the same size with another root (a fork); a proof that does not
verify is 422. Otherwise the witness cosigns (tlog-cosignature/v1) and its record moves forward, so
it never cosigns a rollback or a fork of what it cosigned before.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gatekeeper.ledger.merkle import verify_consistency
from gatekeeper.ledger.note import (
    CheckpointBody,
    Ed25519Sign,
    Ed25519Verify,
    NoteVerifier,
    cosign,
    parse_checkpoint_body,
    split_note,
    verify_signatures,
)

MAX_BODY = 1 << 20
MAX_PROOF = 63
SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Latest:
    """The latest checkpoint a witness cosigned for one origin."""

    size: int
    root: bytes


@dataclass(frozen=True)
class Decision:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"
    cosigned: CheckpointBody | None = None     # the record moves to this checkpoint (status 200)
    note: str = ""

    @property
    def reason(self) -> str:
        return self.body.strip()


def parse(body: bytes) -> tuple[int, list[bytes], str]:
    """``(old size, proof hashes, note)``; ``ValueError`` for a body that is not a request."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the request is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines or not re.fullmatch(r"old (0|[1-9][0-9]{0,19})", lines[0]):
        raise ValueError("the request starts with `old <size>`, then proof lines, an empty line and the checkpoint")
    if len(lines) - 1 > MAX_PROOF:
        raise ValueError(f"more than {MAX_PROOF} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            h = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a proof line is not base64") from None
        if len(h) != 32:
            raise ValueError("a proof line is not a 32-byte hash")
        proof.append(h)
    return int(lines[0][4:]), proof, note


def decide(body: bytes, logs: Mapping[str, Sequence[NoteVerifier]], latest: Callable[[str], Latest | None],
           ed25519: Ed25519Verify, name: str, public: bytes, sign: Ed25519Sign, now: int) -> Decision:
    """The witness's answer to one request; ``latest(origin)`` reads its record (inside the caller's lock)."""
    try:
        old, proof, note = parse(body)
        text, signatures = split_note(note)
        cp = parse_checkpoint_body(text)
    except ValueError as exc:
        return Decision(400, f"{exc}\n")
    keys = logs.get(cp.origin)
    if not keys:
        return Decision(404, f"unknown log {cp.origin}\n")
    try:
        signed = verify_signatures(text, signatures, keys, ed25519)
    except ValueError as exc:
        return Decision(403, f"{exc}\n")
    if not signed:
        return Decision(403, f"the checkpoint is not signed by a key this witness trusts for {cp.origin}\n")
    if old > cp.size:
        return Decision(400, f"old size {old} is larger than the checkpoint's {cp.size}\n")
    have = latest(cp.origin)
    size = have.size if have else 0
    if old != size:
        return Decision(409, f"{size}\n", SIZE_TYPE)
    if have is not None and old == cp.size and have.root != cp.root:
        return Decision(409, f"{size}\n", SIZE_TYPE)   # same size, another root: a fork
    if have is not None and not verify_consistency(old, cp.size, proof, have.root, cp.root):
        return Decision(422, f"the consistency proof from {old} to {cp.size} does not verify\n")
    if have is None and proof:
        return Decision(422, "a proof from size 0 must be empty\n")
    line = cosign(text, name, public, now, sign)
    return Decision(200, line, cosigned=cp, note=note)
