"""``gatekeeper audit verify-pack``: the pack's own checks (``gatekeeper.verifier``), from Gatekeeper.

Same options, output and exit codes as ``python3 verify.py`` (SPEC §12); a zip is unpacked first
into a temporary folder (plain names only, sizes as declared: ``verifier.packdir``), and signatures
are checked with the ``cryptography`` package instead of the ``openssl`` command. The SHA-256 it
prints is the one of the verifier ``gatekeeper audit verifier`` writes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence

from gatekeeper.ledger.checkpoint import ed25519_verify
from gatekeeper.verifier import bundle, cli
from gatekeeper.verifier.logread import Failed
from gatekeeper.verifier.packdir import extract_pack

PROG = "gatekeeper audit verify-pack"


def verify_pack(argv: Sequence[str]) -> int:
    """Returns the exit code: 0 intact and pinned, 1 the first failure, 3 intact but not pinned, 2 usage."""
    try:
        args = cli.parser(PROG).parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.folder is None:
        print(f"{PROG}: give the pack: a .zip or its unpacked folder", file=sys.stderr)
        return 2
    if not os.path.isfile(args.folder):
        return cli.run(args, bundle.sha256(), args.folder, PROG, ed25519_verify)
    with tempfile.TemporaryDirectory(prefix="gatekeeper-pack-") as tmp:
        try:
            extract_pack(args.folder, tmp)
        except Failed as exc:
            print(f"{PROG}: verifier SHA-256 {bundle.sha256()}")
            print(f"{PROG}: FAILED: {exc}", file=sys.stderr)
            return 1
        args.folder = tmp
        return cli.run(args, bundle.sha256(), tmp, PROG, ed25519_verify)
