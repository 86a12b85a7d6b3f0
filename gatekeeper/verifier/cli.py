"""``python3 verify.py [--key-id ID | --trust FILE] [--since CHECKPOINT_FILE] [FOLDER]`` (SPEC §12).

Exit 0 when every check passes and the origin is pinned from outside the pack (``--key-id``, or a
``key`` line of ``--trust``); 1 naming the first failure; 3 when every check passes but nothing
pinned the origin (the key id to compare with your records is printed). The first line is the
SHA-256 of the verifier itself: compare it with the one docs/audit.md lists for the release.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence

from gatekeeper.verifier.checks import Ed25519, Options, verify
from gatekeeper.verifier.logread import Failed
from gatekeeper.verifier.trust import HEX16, Trust, openssl_verify, read_trust

MAX_TRUST_FILE = 1 << 20


def own_sha256() -> str:
    """SHA-256 of the file this verifier runs from (``verify.py``, as written by ``gatekeeper audit verifier``)."""
    with open(os.path.abspath(__file__), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _key_id(text: str) -> str:
    if not HEX16.fullmatch(text.strip().lower()):
        raise argparse.ArgumentTypeError("a key id is 16 hex digits (gatekeeper keys show prints it)")
    return text.strip().lower()


def parser(prog: str = "verify.py") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="Check a Gatekeeper evidence pack: exit 0 intact and origin "
                                 "pinned, 1 naming the first failure, 3 intact but origin not pinned.")
    ap.add_argument("folder", nargs="?", default=None, help="the unpacked pack (default: this file's folder)")
    pin = ap.add_mutually_exclusive_group()
    pin.add_argument("--key-id", type=_key_id, default=None,
                     help="the organisation's signing key id you keep on record (16 hex digits)")
    pin.add_argument("--trust", metavar="FILE", default=None,
                     help="your trust file: lines `key <key_id>`, `witness <name> <vkey>`, `min-witnesses N`")
    ap.add_argument("--since", metavar="CHECKPOINT_FILE", default=None,
                    help="a checkpoint you kept from the last engagement: the log must extend it")
    return ap


def _read_outside(path: str, what: str) -> bytes:
    """A file the auditor keeps (not part of the pack), read with a size limit."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TRUST_FILE + 1)
    except OSError as exc:
        raise Failed(f"{what} {path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_TRUST_FILE:
        raise Failed(f"{what} {path}: larger than 1 MiB")
    return data


def run(args: argparse.Namespace, self_sha256: str, default_folder: str, prog: str = "verify.py",
        ed25519: Ed25519 = openssl_verify) -> int:
    """Print, verify; returns the exit code (shared by verify.py and ``gatekeeper audit verify-pack``)."""
    print(f"{prog}: verifier SHA-256 {self_sha256} (compare it with the one docs/audit.md lists for your release)")
    try:
        trust = Trust()
        if args.trust is not None:
            trust = read_trust(_read_outside(args.trust, "--trust").decode("utf-8", "replace"), args.trust)
        since = _read_outside(args.since, "--since") if args.since is not None else None
        opts = Options(key_ids={args.key_id} if args.key_id else set(), trust=trust, since=since,
                       ed25519=ed25519, self_sha256=self_sha256)
        outcome = verify(args.folder or default_folder, opts, print)
    except Failed as exc:
        print(f"{prog}: FAILED: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a damaged pack (or verifier) must still end in one clear line, never "OK"
        print(f"{prog}: FAILED: {type(exc).__name__}: {exc} (is every file of the pack intact?)", file=sys.stderr)
        return 1
    if outcome.pinned:
        via = f" (via rotations {' -> '.join(outcome.chain)})" if len(outcome.chain) > 1 else ""
        print(f"{prog}: OK: every check passed; origin pinned: signed by key {outcome.key_id}, the key you "
              f"keep on record{via}")
        return 0
    print(f"{prog}: contents consistent; origin NOT verified: compare key id {outcome.key_id} with your records, "
          f"then run again with --key-id {outcome.key_id} (or --trust FILE)")
    return 3


def main(argv: Sequence[str]) -> int:
    return run(parser().parse_args(list(argv[1:])), own_sha256(), os.path.dirname(os.path.abspath(__file__)))
