"""``verification.txt``: what the pack holds and how an auditor checks it without trusting us (issue 21)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatekeeper import __version__
from gatekeeper.verifier.tables import RULES_NOT_LOGGED

VERIFY_COMMAND = ("gatekeeper log verify --export log.jsonl --checkpoint checkpoint.json "
                  "--public-key public-key.pem")
STANDALONE_COMMAND = "python3 verify.py"


def verification_text(*, start: str, end: str, now: str, actor: str, key_id: str, origin: str, upto: int,
                      outcome: str, lines: Sequence[str], policy: Any, config_sha256: str, tables: Any,
                      verifier_sha256: str, witnesses: Sequence[str]) -> str:
    """Written before the export is logged, so the export entry binds it like every other derived file."""
    out = [
        "Gatekeeper evidence pack: verification", "",
        f"Built: {now} by {actor} with gatekeeper {__version__}",
        f"Period: {start} .. {end} (register.csv, register.xlsx, approvals.csv, exceptions.csv, drift.csv, "
        "metrics.csv, comments.csv)",
        *_how_to_verify(key_id, verifier_sha256),
        *_log_and_checkpoint(key_id, origin, upto, outcome, witnesses),
        *_policy(policy, config_sha256),
        *_reconciliation(upto, lines),
        *_rules(tables),
    ]
    return "\n".join(out) + "\n"


def _how_to_verify(key_id: str, verifier_sha256: str) -> list[str]:
    """Section 1: a verifier of the auditor's own, the key id they pinned, what the exit codes mean."""
    return [
        "", "1. How to verify this pack (without trusting the people who run Gatekeeper)", "",
        "Use a verifier you obtained yourself: `gatekeeper audit verifier -o verify.py` on a machine you trust, "
        "or the copy you kept from the last engagement. Its first line prints its own SHA-256: compare it with "
        "the one docs/audit.md lists for the release. The pack's own verify.py (SHA-256 "
        f"{verifier_sha256}) is a convenience: a forger can replace it. In the unpacked folder:", "",
        f"    python3 /path/to/your/verify.py --key-id {key_id} .", "",
        "where the key id is the one your organisation gave you at the first engagement (`gatekeeper keys "
        "show`), or with your trust file (key ids, witness keys, `min-witnesses N`) and the checkpoint you "
        "kept from the last engagement:", "",
        "    python3 /path/to/your/verify.py --trust trust.txt --since last-checkpoint.json .", "",
        "It needs Python 3.11+ (standard library only) and the `openssl` command (OpenSSL 3). Exit 0: every "
        "check passed and the origin is pinned by your key id; 1: it names the first failure (the file, the "
        "row and the log seq); 3: every check passed but you pinned nothing, so it proves only that the pack "
        "is consistent with itself. With Gatekeeper installed, `gatekeeper audit verify-pack --key-id "
        f"{key_id} PACK.zip` runs the same checks. Keep this pack's checkpoint.json for the next engagement "
        "(`--since`).",
    ]


def _log_and_checkpoint(key_id: str, origin: str, upto: int, outcome: str, witnesses: Sequence[str]) -> list[str]:
    """Section 2: what binds the files (the export entry), what signs it, and the check made when built."""
    return [
        "", "2. The log, the export entry and the checkpoint", "",
        "log.jsonl holds every entry from seq 1 to the pack's checkpoint; the last one is this export "
        "(audit.exported), which records the SHA-256 of every file derived from the log, this one included. "
        f"The tables are the projection of seq 1..{upto}, the entry at seq {upto} recording what reconciliation "
        "against git found. verify.py recomputes every table from the log and compares both ways.",
        f"checkpoint.json signs the export entry's seq and hash with the Ed25519 key {key_id} in public-key.pem, "
        f"and its C2SP note (origin {origin}) signs the Merkle tree of the whole log. Witnesses asked to cosign "
        f"it: {', '.join(witnesses) or 'none configured'} (checkpoint.json holds the cosignatures given).",
        "", f"Verifying seq 1..{upto} of the log when the pack was built gave:", "", outcome, "",
        f"The same check with Gatekeeper installed: {VERIFY_COMMAND}",
        "MANIFEST.sha256 lists the SHA-256 of every other file (`sha256sum -c MANIFEST.sha256`); it is not "
        "signed: the export entry is.",
        "verify.py recomputes the Merkle tree of the whole log (RFC 6962) and compares its root with the "
        "signed note: every entry at once. To check one sampled entry without the whole log, ask for its "
        "inclusion proof (`gatekeeper log prove --seq N --size <the note's tree size>`) and check it against "
        "the note's root.",
    ]


def _policy(policy: Any, config_sha256: str) -> list[str]:
    """Section 3: the policy in force and whether the file on disk is the one the service loaded."""
    out = ["", "3. Policy", ""]
    if policy.log_seq:
        out.append(f"policy.toml is the policy in force, SHA-256 {policy.sha256} (config.loaded at log seq "
                   f"{policy.log_seq}); policy-history.csv lists every config.loaded.")
    else:
        out.append("policy.toml is empty: the log records no config.loaded entry (the service never started "
                   "with this database).")
    if policy.sha256 != config_sha256:
        out.append(f"Note: the policy file where the pack was built has SHA-256 {config_sha256}; the service "
                   "has not loaded it yet.")
    return out


def _reconciliation(upto: int, lines: Sequence[str]) -> list[str]:
    """Section 4: protected branches against recorded deployments."""
    return ["", f"4. Reconciliation of protected branches against recorded deployments (logged at seq {upto})", "",
            *(lines or ["No repository has attested hooks in the log; nothing to reconcile."])]


def _rules(tables: Any) -> list[str]:
    """Section 5: where each register row's approvals_required comes from."""
    legacy = sum(1 for c in tables.changes if c.rules_source == RULES_NOT_LOGGED)
    return ["", "5. approvals_required", "",
            "Every register row's approvals_required is the rule set logged with its revision when it was "
            "opened (the policy in force then)." if not legacy else
            f"{legacy} register row(s) belong to revisions logged before Gatekeeper recorded the rules with "
            "each revision: their approvals_required is empty in this pack (the database register shows "
            "today's policy for them)."]
