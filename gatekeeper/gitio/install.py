"""Installing the server hooks into a bare repo, and attesting what was installed (SPEC §7, §8).

Never deletes or overwrites a hook it did not write: a foreign ``pre-receive``/``post-receive`` is
renamed ``<hook>.chained`` and run first by our shim; gitolite's ``update`` hook is left alone.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from gatekeeper.errors import InputError

HOOKS = ("pre-receive", "post-receive")
MARKER = "gatekeeper-managed-hook"
# Set by install-hooks and attested: a repo where one was changed later shows hook drift.
# receive.fsckObjects makes git refuse malformed trees (``..``/``.git`` entries) before any hook runs.
GIT_CONFIG = {"receive.advertisePushOptions": "true", "receive.fsckObjects": "true"}


def _shim(name: str, values: dict[str, str]) -> bytes:
    """The hook template with its ``@KEY@`` placeholders filled in, shell-quoted."""
    text = resources.files("gatekeeper.gitio").joinpath("shims", name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", shlex.quote(value))
    return text.encode("utf-8")


def is_ours(path: Path) -> bool:
    try:
        return MARKER.encode() in path.read_bytes()[:400]
    except OSError:
        return False


def _git_config(repo: Path, key: str, value: str) -> None:
    subprocess.run(["git", "config", key, value], cwd=repo, check=True, capture_output=True)


def check_bare(repo: Path) -> None:
    out = subprocess.run(["git", "rev-parse", "--is-bare-repository"], cwd=repo, capture_output=True, text=True)
    if out.returncode != 0 or out.stdout.strip() != "true":
        raise InputError(f"{repo} is not a bare git repository: give the server-side repository (the one "
                         "people push to), or make one with `gatekeeper repo create`")


def init_bare(repo: Path) -> None:
    if repo.exists() and any(repo.iterdir()):
        raise InputError(f"{repo} exists and is not empty: choose a new path, or run `gatekeeper repo "
                         "install-hooks` on an existing bare repository")
    repo.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "--bare", "--quiet", "--initial-branch=main", str(repo)], check=True,
                   capture_output=True)


def install(repo: Path, name: str, config_path: Path, python: str | None = None) -> dict[str, Any]:
    """Write the shims, chain foreign hooks, set git config; returns the attestation payload."""
    check_bare(repo)
    import json

    import gatekeeper
    from gatekeeper.gitio.hookconfig import view

    values = {"PYTHON": python or sys.executable, "PYTHONPATH": str(Path(gatekeeper.__file__).resolve().parents[1]),
              "CONFIG": str(config_path.resolve()), "REPO": name,
              "POLICY": json.dumps(view(config_path.read_bytes()), separators=(",", ":"), sort_keys=True)}
    hooks = repo / "hooks"
    hooks.mkdir(exist_ok=True)
    chained = []
    for hook in HOOKS:
        target = hooks / hook
        if (target.exists() or target.is_symlink()) and not is_ours(target):
            keep = hooks / f"{hook}.chained"
            if keep.exists() or keep.is_symlink():
                raise InputError(f"{target} is not Gatekeeper's and {keep} already exists; move one aside first")
            os.rename(target, keep)
            chained.append(hook)
        tmp = hooks / f".{hook}.gatekeeper-tmp"
        tmp.write_bytes(_shim(hook, values))
        tmp.chmod(0o755)
        os.replace(tmp, target)
    for key, value in GIT_CONFIG.items():
        _git_config(repo, key, value)
    return attestation(repo, name) | {"chained": chained}


def attestation(repo: Path, name: str) -> dict[str, Any]:
    """SHA-256 of every hook file Gatekeeper relies on, plus the git settings the shims read."""
    hooks = repo / "hooks"
    files = {}
    for hook in HOOKS:
        for candidate in (hooks / hook, hooks / f"{hook}.chained"):
            if candidate.exists():
                files[candidate.name] = hashlib.sha256(candidate.read_bytes()).hexdigest()
    settings = {}
    for key in GIT_CONFIG:
        out = subprocess.run(["git", "config", "--get", key], cwd=repo, capture_output=True, text=True)
        settings[key] = out.stdout.strip()
    combined = hashlib.sha256("\n".join(f"{k} {v}" for k, v in sorted(files.items())).encode()).hexdigest()
    return {"repo": name, "path": str(repo.resolve()), "files": files, "git_config": settings, "sha256": combined}


def drift(repo: Path, name: str, attested: dict[str, Any]) -> list[str]:
    """What differs between the installed hooks and an attestation (for reconcile / exceptions)."""
    now = attestation(repo, name)
    out = []
    for fname in sorted(set(now["files"]) | set(attested.get("files", {}))):
        a, b = attested.get("files", {}).get(fname), now["files"].get(fname)
        if a != b:
            out.append(f"{fname}: " + ("missing now" if b is None else "not attested" if a is None else
                                       f"hash {b[:12]} differs from attested {a[:12]}"))
    for key, value in attested.get("git_config", {}).items():
        if now["git_config"].get(key) != value:
            out.append(f"git config {key}: {now['git_config'].get(key)!r}, attested {value!r}")
    for key, value in GIT_CONFIG.items():  # also against an attestation older than the setting
        if key not in attested.get("git_config", {}) and now["git_config"].get(key) != value:
            out.append(f"git config {key}: {now['git_config'].get(key)!r}, install-hooks sets {value!r}")
    return out

