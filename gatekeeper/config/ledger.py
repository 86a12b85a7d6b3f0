"""``[ledger]`` (SPEC §12 "Witnesses"): the witnesses that cosign the log's checkpoints.

Standard library only, like the rest of the loader: a witness's key is checked with ``ledger.note``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.config.toml import Reader, http_url_problem


@dataclass(frozen=True)
class WitnessConfig:
    """One ``[[ledger.witnesses]]``: a C2SP tlog-witness that cosigns the log's checkpoints (SPEC §12)."""

    name: str
    url: str
    key: str          # the witness's note verifier key (vkey, type 0x04)


@dataclass(frozen=True)
class LedgerConfig:
    witnesses: tuple[WitnessConfig, ...] = ()
    witness_timeout: float = 10.0   # seconds per witness request


def read_ledger(r: Reader) -> LedgerConfig:
    """``[ledger]`` with ``[[ledger.witnesses]]`` (``name``, ``url``, ``key``) and ``witness_timeout``."""
    from gatekeeper.ledger.note import SIG_COSIGNATURE, parse_vkey

    witnesses: list[WitnessConfig] = []
    for i, item in enumerate(r.get("witnesses", list, [])):
        if not isinstance(item, dict):
            raise r.fail("witnesses", "must be an array of tables ([[ledger.witnesses]])")
        w = Reader(item, "ledger.witnesses", i, r.file, r.loc, label=f"ledger.witnesses[{i}]")
        name, url, key = (w.get("name", str, required=True), w.get("url", str, required=True),
                          w.get("key", str, required=True))
        w.finish()
        if problem := http_url_problem(url):
            raise w.fail("url", problem)
        try:
            vkey = parse_vkey(key)
        except ValueError as exc:
            raise w.fail("key", f"is not a note verifier key: {exc}") from exc
        if vkey.sig_type != SIG_COSIGNATURE:
            raise w.fail("key", "must be a witness cosignature key (type 0x04, printed by `gatekeeper witness "
                                "serve`)")
        if name in {x.name for x in witnesses}:
            raise w.fail("name", "witness defined twice")
        witnesses.append(WitnessConfig(name=name, url=url.rstrip("/"), key=key.strip()))
    timeout = float(r.get("witness_timeout", (int, float), LedgerConfig.witness_timeout))
    if timeout <= 0:
        raise r.fail("witness_timeout", "must be a positive number of seconds")
    r.finish()
    return LedgerConfig(witnesses=tuple(witnesses), witness_timeout=timeout)
