"""``--since``: the checkpoint an auditor kept from the last engagement, against this pack's log (SPEC §12;
check (6) of ``checks``). Standard library only (bundled into verify.py).

The one pass over the log keeps the tree's root at the old checkpoint's size and the hash of the entry
it signs (``since_size`` says which, before the pass); ``since_check`` then checks the old note's
signature by a key of the log's key chain, and that the log's first entries are the ones it signed:
a history rewritten since fails.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from gatekeeper.ledger.merkle import EMPTY_ROOT
from gatekeeper.ledger.note import SIG_ED25519, NoteVerifier, parse_checkpoint_body, split_note, verify_signatures
from gatekeeper.verifier.chain import LogPass
from gatekeeper.verifier.logread import Failed, strict_json


def since_note(since: bytes) -> tuple[str, Any, list[Any], tuple[int, str] | None]:
    """The checkpoint the auditor kept (a checkpoint.json, or the note alone): its note text, body and
    signatures, and (seq, hash) of the entry it signs when it says."""
    raw = since.strip()
    old_hash: tuple[int, str] | None = None
    if raw.startswith(b"{"):
        data = strict_json(raw, "--since")
        if not isinstance(data, dict) or not isinstance(data.get("note"), str):
            raise Failed("--since: a checkpoint.json with a C2SP note (field 'note'), or the note itself")
        text = data["note"]
        if isinstance(data.get("seq"), int) and isinstance(data.get("hash"), str):
            old_hash = (data["seq"], data["hash"])
    else:
        text = raw.decode("utf-8", "replace") + "\n"
    try:
        note_text, sigs = split_note(text)
        old = parse_checkpoint_body(note_text)
    except ValueError as exc:
        raise Failed(f"--since: {exc}") from None
    return note_text, old, sigs, old_hash


def since_size(since: bytes) -> tuple[int, int]:
    """What the one pass over the log must keep for ``--since``: the root at the old tree's size and
    the hash of the entry the old checkpoint signs (read before the pass: it keeps nothing else)."""
    _text, old, _sigs, old_hash = since_note(since)
    return old.size, old_hash[0] if old_hash is not None else 0


def since_check(since: bytes, ed25519: Callable[[bytes, bytes, bytes], bool], lp: LogPass, origin: str,
                known: dict[str, bytes], chain: list[str] | None) -> str:
    """Your old checkpoint (``since``) is signed by a key of this log's chain (``known``, followed from the
    pinned key: ``chain``) and the log's first entries are the ones it signed: the root the pass kept at
    its size and the hash of the entry it names."""
    note_text, old, sigs, old_hash = since_note(since)
    if old.origin != origin:
        raise Failed(f"--since: your checkpoint is of {old.origin}, this pack's log is {origin}")
    keys = [known[k] for k in (chain or sorted(known)) if k in known]
    try:
        signed = verify_signatures(note_text, sigs, [NoteVerifier(origin, SIG_ED25519, k) for k in keys], ed25519)
    except ValueError as exc:
        raise Failed(f"--since: {exc}") from None
    if not signed:
        raise Failed("--since: your checkpoint is not signed by a key of this log's key chain")
    if old.size > lp.size:
        raise Failed(f"--since: your checkpoint covers {old.size} entries, this pack's log only {lp.size}: the pack "
                     "is older than what you saw, or the log was cut back")
    root = EMPTY_ROOT if old.size == 0 else lp.mark_root
    if root != old.root or (old_hash is not None and lp.mark_hash != old_hash[1]):
        raise Failed(f"--since: the first {old.size} entries of this log are not the ones your checkpoint signed: "
                     "the history was rewritten since")
    return (f"OK since: the log extends your checkpoint of {old.size} entries (root "
            f"{base64.b64encode(old.root).decode()}): nothing before it was rewritten")
