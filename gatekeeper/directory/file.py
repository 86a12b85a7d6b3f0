"""The embedded file directory: users and groups in a TOML file (SPEC §4).

The file is re-read when it changes on disk, so removing someone from a group takes effect at
the next SoD decision without a restart (the gate must see today's memberships). A user with
``disabled = true`` is what a disabled LDAP/AD account is: refused at login, unknown to SoD, and
listed only by the access review (``group_accounts``), which shows who still sits in a group.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gatekeeper.errors import AuthError, ConfigError, DirectoryUnavailable
from gatekeeper.policy.people import Membership, User, fold

_hasher = PasswordHasher()
# Verified against when the user is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("gatekeeper-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class _Data:
    users: dict[str, tuple[User, str]]  # fold(username) -> (user, password hash): enabled accounts
    disabled: dict[str, User]  # fold(username) -> user: accounts with ``disabled = true``
    groups: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # name -> (folded members, nested groups)


class FileDirectory:
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._data = self._load()

    # -- loading ---------------------------------------------------------------------------------
    def _load(self) -> _Data:
        file = str(self.path)
        try:
            stat = self.path.stat()
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read directory file: {exc.strerror}", file=file) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"invalid TOML: {exc}", file=file) from exc
        self._mtime = stat.st_mtime_ns
        unknown = set(data) - {"users", "groups"}
        if unknown:
            raise ConfigError("unknown key", file=file, key=sorted(unknown)[0])
        users: dict[str, tuple[User, str]] = {}
        disabled: dict[str, User] = {}
        for i, u in enumerate(data.get("users", [])):
            where = f"users[{i}]"
            if not isinstance(u, dict):
                raise ConfigError("must be a table", file=file, key=where)
            extra = set(u) - {"username", "name", "email", "password_hash", "disabled"}
            if extra:
                raise ConfigError("unknown key", file=file, key=f"{where}.{sorted(extra)[0]}")
            for key in ("username", "email", "password_hash"):
                if not isinstance(u.get(key), str) or not u[key]:
                    raise ConfigError("is required (a string)", file=file, key=f"{where}.{key}")
            if not isinstance(u.get("disabled", False), bool):
                raise ConfigError("must be true or false", file=file, key=f"{where}.disabled")
            key = fold(u["username"])
            if key in users or key in disabled:  # "Carol" and "carol" would be one person to LDAP: refuse the ambiguity
                raise ConfigError(f"user {u['username']!r} defined twice (names compare case-insensitively)",
                                  file=file, key=f"{where}.username")
            user = User(username=u["username"], name=str(u.get("name") or u["username"]), email=u["email"])
            if u.get("disabled", False):
                disabled[key] = user
            else:
                users[key] = (user, u["password_hash"])
        groups: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for i, g in enumerate(data.get("groups", [])):
            where = f"groups[{i}]"
            if not isinstance(g, dict) or not isinstance(g.get("name"), str):
                raise ConfigError("needs a name", file=file, key=where)
            extra = set(g) - {"name", "members", "groups"}
            if extra:
                raise ConfigError("unknown key", file=file, key=f"{where}.{sorted(extra)[0]}")
            members, nested = g.get("members", []), g.get("groups", [])
            if not all(isinstance(m, str) for m in [*members, *nested]):
                raise ConfigError("members and groups must be lists of names", file=file, key=where)
            for m in members:
                if fold(m) not in users and fold(m) not in disabled:
                    raise ConfigError(f"unknown user {m!r}", file=file, key=f"{where}.members")
            groups[g["name"]] = (tuple(fold(m) for m in members), tuple(nested))
        for name, (_, nested) in groups.items():
            for n in nested:
                if n not in groups:
                    raise ConfigError(f"unknown group {n!r} nested in {name!r}", file=file, key="groups")
        return _Data(users=users, disabled=disabled, groups=groups)

    def _current(self) -> _Data:
        """Reload when the file changed; a reload that fails keeps failing (fail closed)."""
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime_ns
                if mtime != self._mtime:
                    self._data = self._load()
            except OSError as exc:  # at run time a file that cannot be read is a directory outage (503)
                raise DirectoryUnavailable(f"directory unreachable: cannot read the directory file {self.path}: "
                                           f"{exc.strerror}") from exc
            except ConfigError as exc:
                raise DirectoryUnavailable(f"directory unreachable: the directory file is not usable: "
                                           f"{exc.message}") from exc
            return self._data

    # -- Directory protocol ----------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User:
        entry = self._current().users.get(fold(username))
        try:
            _hasher.verify(entry[1] if entry else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            entry = None
        if entry is None:
            raise AuthError("invalid username or password")
        return entry[0]

    def get_user(self, username: str) -> User | None:
        entry = self._current().users.get(fold(username))
        return entry[0] if entry else None

    def canonical(self, username: str) -> str | None:
        user = self.get_user(username)
        return user.username if user else None

    def find_by_email(self, email: str) -> User | None:
        wanted = fold(email)
        return next((u for u, _ in self._current().users.values() if fold(u.email) == wanted), None)

    def find_by_name(self, name: str) -> list[User]:
        wanted = fold(name)
        if not wanted:
            return []
        return [u for u, _ in self._current().users.values() if wanted in (fold(u.username), fold(u.name))][:2]

    def memberships(self, username: str) -> list[Membership]:
        data = self._current()
        key = fold(username)
        return _walk(data, key) if key in data.users else []

    def group_exists(self, group: str) -> bool:
        return group in self._current().groups

    def group_accounts(self, groups: Sequence[str]) -> dict[str, list[tuple[User, Membership, bool]]]:
        """Every account in each group, nested included, disabled ones too (the flag), with its path."""
        data = self._current()
        accounts = [*((u, False) for u, _ in data.users.values()), *((u, True) for u in data.disabled.values())]
        out: dict[str, list[tuple[User, Membership, bool]]] = {g: [] for g in groups}
        for user, off in accounts:
            for m in _walk(data, fold(user.username)):
                if m.group in out:
                    out[m.group].append((user, m, off))
        for found in out.values():
            found.sort(key=lambda t: t[0].username)
        return out

    def group_members(self, group: str) -> list[tuple[User, Membership]]:
        data = self._current()
        out = []
        for user, _ in data.users.values():
            m = next((m for m in self.memberships(user.username) if m.group == group), None)
            if m:
                out.append((user, m))
        return sorted(out, key=lambda um: um[0].username)

    def health(self) -> str:
        try:
            self._current()
        except DirectoryUnavailable as exc:
            return exc.message
        return "ok"

    def close(self) -> None:
        pass


def _walk(data: _Data, username: str) -> list[Membership]:
    """Every group of the (folded) ``username``, nested included, each with its shortest path."""
    found: dict[str, Membership] = {}
    # Breadth-first from the groups naming the user directly; the visited set stops cycles.
    queue: list[tuple[str, tuple[str, ...]]] = [
        (name, (name,)) for name, (members, _) in data.groups.items() if username in members]
    while queue:
        name, via = queue.pop(0)
        if name in found:
            continue
        found[name] = Membership(group=name, via=via)
        for parent, (_, nested) in data.groups.items():
            if name in nested and parent not in found:
                queue.append((parent, (*via, parent)))
    return sorted(found.values(), key=lambda m: m.group)
