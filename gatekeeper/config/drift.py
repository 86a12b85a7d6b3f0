"""``[drift]`` and ``[[drift.sources]]`` (SPEC §11): where the live version of a repo path comes from."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.config.toml import Reader, env_name, resolve_path
from gatekeeper.errors import ConfigError
from gatekeeper.policy.registry import FORMAT_NAMES


@dataclass(frozen=True)
class DriftSource:
    """Where the live version of a repo file or folder comes from (exactly one of url/command/file)."""

    name: str
    repo: str
    path: str
    format: str
    url: str = ""
    header_env: str = ""
    command: tuple[str, ...] = ()
    file: Path | None = None


@dataclass(frozen=True)
class DriftConfig:
    interval_minutes: int = 0  # 0: not scheduled inside the service
    timeout_seconds: float = 30.0
    max_bytes: int = 20 * 1024 * 1024
    sources: tuple[DriftSource, ...] = ()


def read_drift(r: Reader, base: Path, repos: set[str]) -> DriftConfig:
    """``[drift]`` and ``[[drift.sources]]`` (SPEC §11)."""
    d = DriftConfig()
    interval = r.get("interval_minutes", int, d.interval_minutes)
    if interval < 0:
        raise r.fail("interval_minutes", "must be 0 (not scheduled) or a positive number of minutes")
    timeout = float(r.get("timeout_seconds", (int, float), d.timeout_seconds))
    if not 0 < timeout <= 3600:
        raise r.fail("timeout_seconds", "must be between 0 and 3600 seconds")
    max_bytes = r.get("max_bytes", int, d.max_bytes)
    if max_bytes <= 0:
        raise r.fail("max_bytes", "must be a positive number of bytes")
    raw = r.get("sources", list, [])
    sources: list[DriftSource] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise r.fail("sources", "must be an array of tables ([[drift.sources]])")
        sources.append(_drift_source(Reader(item, "drift.sources", i, r.file, r.loc,
                                             label=f"drift.sources[{i}]"), base, repos))
    names = [s.name for s in sources]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError("drift source defined twice", file=r.file, key=f"drift.sources[{name}].name",
                              line=r.loc.line("drift.sources", i, "name"))
    r.finish()
    return DriftConfig(interval_minutes=interval, timeout_seconds=timeout, max_bytes=max_bytes,
                       sources=tuple(sources))


def _drift_source(r: Reader, base: Path, repos: set[str]) -> DriftSource:
    name = r.get("name", str, required=True)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]*", name):
        raise r.fail("name", "may hold letters, digits, '.', '_' and '-' only")
    r.label = f"drift.sources[{name}]"
    repo = r.get("repo", str, required=True)
    if repo not in repos:
        raise r.fail("repo", f"names no [[repos]] entry ({', '.join(sorted(repos))})")
    path = r.get("path", str, required=True).strip("/")
    if not path or any(part in ("", ".", "..") for part in path.split("/")):
        raise r.fail("path", "must be a file or folder path inside the repo (no '..', not empty)")
    fmt = r.get("format", str, required=True)
    if fmt not in FORMAT_NAMES:
        raise r.fail("format", f"unknown format {fmt!r} (known: {', '.join(FORMAT_NAMES)})")
    url = r.get("url", str, "")
    command = r.get("command", list, None)
    file = r.get("file", str, None)
    given = [key for key, value in (("url", url), ("command", command), ("file", file)) if value]
    if len(given) != 1:
        raise r.fail(None, "needs exactly one of url, command or file" + (f" (found {', '.join(given)})"
                                                                          if given else ""))
    if url and not url.lower().startswith(("http://", "https://")):
        raise r.fail("url", "must start with http:// or https://")
    if url and "@" in url.split("/", 3)[2]:
        raise r.fail("url", "must not hold credentials (user:password@): put the whole header in the variable "
                            "named by header_env")
    header_env = env_name(r, "header_env", "") if "header_env" in r.data else ""
    if header_env and not url:
        raise r.fail("header_env", "is only for url sources")
    if command is not None and (not command or not all(isinstance(a, str) and a for a in command)):
        raise r.fail("command", "must be a non-empty list of strings (the program and its arguments, no shell)")
    source = DriftSource(name=name, repo=repo, path=path, format=fmt, url=url, header_env=header_env,
                         command=tuple(command or ()),
                         file=Path(os.path.normpath(resolve_path(base, file))) if file else None)
    r.finish()
    return source
