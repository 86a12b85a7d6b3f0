"""Typed reading of a TOML table that reports **file:line: key** (tomllib gives no positions).

``Locator`` finds the line of a key by table and array-of-tables index; ``Reader`` checks types,
refuses unknown keys and refuses secrets written in clear (SPEC §4: keys ending in ``_env`` name
environment variables instead).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gatekeeper.errors import ConfigError

# Keys whose values are secrets: they must be given as ``<key>_env`` naming a variable.
_SECRET_WORDS = ("password", "secret", "token", "private_key")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Locator:
    """Finds the line of a key in TOML text, by table and array-of-tables index."""

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
    _key = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, int, str], int] = {}
        self.tables: dict[tuple[str, int], int] = {}
        table, counts, index = "", dict[str, int](), 0
        for number, line in enumerate(text.splitlines(), start=1):
            m = self._header.match(line)
            if m:
                table = m.group(2).strip()
                if m.group(1) == "[[":
                    counts[table] = counts.get(table, -1) + 1
                    index = counts[table]
                else:
                    index = 0
                self.tables.setdefault((table, index), number)
                continue
            k = self._key.match(line)
            if k:
                self.lines.setdefault((table, index, k.group(1)), number)

    def line(self, table: str, index: int, key: str | None) -> int | None:
        if key is not None and (table, index, key) in self.lines:
            return self.lines[(table, index, key)]
        return self.tables.get((table, index))


class Reader:
    """Typed access to one TOML table that reports the file, the key and the line."""

    def __init__(self, data: dict[str, Any], table: str, index: int, file: str, loc: Locator,
                 label: str | None = None) -> None:
        self.data, self.table, self.index, self.file, self.loc = data, table, index, file, loc
        self.label = label or table
        self.used: set[str] = set()

    def fail(self, key: str | None, message: str) -> ConfigError:
        name = f"{self.label}.{key}" if key and self.label else (key or self.label)
        return ConfigError(message, file=self.file, key=name, line=self.loc.line(self.table, self.index, key))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *,
            required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"must be {_kind_names(kinds)}, not a boolean")
        if not isinstance(value, kinds):
            raise self.fail(key, f"must be {_kind_names(kinds)}, not {type(value).__name__}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = (), *, required: bool = False) -> tuple[str, ...]:
        value = self.get(key, list, None, required=required)
        if value is None:
            return default
        if not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be a list of non-empty strings")
        return tuple(value)

    def finish(self) -> None:
        for key in self.data:
            if key not in self.used:
                if not key.endswith("_env") and any(w in key for w in _SECRET_WORDS):
                    raise self.fail(key, f"secrets are never written in the file: use {key}_env naming "
                                         "an environment variable")
                raise self.fail(key, "unknown key")


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def table(root: Reader, name: str) -> Reader:
    """``[name]`` of the file (an empty table when absent)."""
    value = root.get(name, dict, {})
    return Reader(value, name, 0, root.file, root.loc)


def tables(root: Reader, name: str) -> list[Reader]:
    """``[[name]]`` of the file, one reader per table."""
    value = root.get(name, list, [])
    readers = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise root.fail(name, f"must be an array of tables ([[{name}]])")
        readers.append(Reader(item, name, i, root.file, root.loc, label=f"{name}[{i}]"))
    return readers


def env_name(r: Reader, key: str, default: str) -> str:
    """A key naming an environment variable (secrets are only ever read from the environment)."""
    value: str = r.get(key, str, default)
    if not ENV_NAME.fullmatch(value):
        raise r.fail(key, "must name an environment variable (letters, digits, _)")
    return value


def resolve_path(base: Path, value: str) -> Path:
    """Relative paths in the config are relative to the config file's folder (SPEC §4)."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def optional_path(r: Reader, base: Path, key: str) -> Path | None:
    value: str | None = r.get(key, str, None)
    if value is not None and not value.strip():
        raise r.fail(key, "must be a file path")
    return resolve_path(base, value) if value else None


def no_clear_secrets(r: Reader) -> None:
    """Report a secret written in clear before anything else about the table (it is the worse mistake)."""
    for key in r.data:
        if not key.endswith("_env") and any(w in key for w in _SECRET_WORDS):
            raise r.fail(key, f"secrets are never written in the file: use {key}_env naming an environment variable")


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a service, webhook or ITSM address, or None."""
    return None if url.startswith(("http://", "https://")) else "must start with http:// or https://"
