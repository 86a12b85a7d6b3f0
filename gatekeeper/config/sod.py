"""``[sod]`` (SPEC §12 "Commit identities"): what a commit identity nobody in the directory has means."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.config.toml import Reader
from gatekeeper.policy.identity import BLOCK, FLAG, external_pattern_problem


@dataclass(frozen=True)
class SodConfig:
    """``unknown_commit_identity``: ``block`` (default: nobody may approve the change) or ``flag``
    (shown to approvers); ``external_identities``: address patterns of outside parties (system
    integrators) who may author and commit, flagged as such."""

    unknown_commit_identity: str = BLOCK
    external_identities: tuple[str, ...] = ()


def read_sod(r: Reader) -> SodConfig:
    mode = r.get("unknown_commit_identity", str, BLOCK)
    if mode not in (BLOCK, FLAG):
        raise r.fail("unknown_commit_identity", f'must be "{BLOCK}" or "{FLAG}"')
    patterns = r.strings("external_identities")
    for pattern in patterns:
        if problem := external_pattern_problem(pattern):
            raise r.fail("external_identities", problem)
    r.finish()
    return SodConfig(unknown_commit_identity=mode, external_identities=tuple(p.strip() for p in patterns))
