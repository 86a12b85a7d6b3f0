"""The few policy values the hooks need: a view of the one loader's ``Config`` (standard library only).

``view(config)`` projects the validated ``gatekeeper.config.Config`` onto what the hooks read, with
every default filled in; install-hooks bakes it into the shims, so a push does not pay for parsing
TOML or importing the loader's dataclasses (the hook files are attested). While the policy file's
SHA-256 matches the baked one, that view is used as it is. When the file changed since (or the
shims were baked by an older version), the hook runs the very same loader on the file: the same
defaults and the same validation as the service, never a second copy of them. A policy the loader
refuses makes the hook refuse protected refs (fail closed).
"""

from __future__ import annotations

import os
from collections import namedtuple

from gatekeeper.errors import ConfigError
from gatekeeper.policy.registry import format_of

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every push a few ms
if TYPE_CHECKING:  # annotations only: the hook's import path stays standard library, without dataclasses
    from typing import Any

    from gatekeeper.config import Config

# What the hooks need of a category; the same attribute names as policy.rules.Category, so classify() and
# registry.format_of() serve both. A plain namedtuple: typing.NamedTuple would import typing on every push.
HookCategory = namedtuple("HookCategory", "name paths format")
# A repo's ref rules (``policy.categories.rule_of``'s arguments, SPEC §12 "Refs").
RepoView = namedtuple("RepoView", "protected protected_tags other_refs")
VIEW_VERSION = 3  # views baked by older install-hooks lack defaults: the hook re-reads the file instead


class HookConfig:
    """The hook's values, from a ``view()`` (trusted: it came from the loader, baked or just now)."""

    __slots__ = ("categories", "fail_open", "hook_token_env", "hook_token_file", "max_content_bytes", "path",
                 "pusher_env", "repos", "url")

    def __init__(self, path: str, data: dict[str, object]) -> None:
        service, git = data["service"], data["git"]
        self.path = path
        self.url: str = service["url"]  # type: ignore[index]
        self.hook_token_env: str = service["hook_token_env"]  # type: ignore[index]
        self.hook_token_file: str | None = service["hook_token_file"]  # type: ignore[index]
        self.fail_open: bool = service["fail_open"]  # type: ignore[index]
        self.pusher_env = tuple(git["pusher_env"])  # type: ignore[index]
        self.max_content_bytes: int = git["max_content_bytes"]  # type: ignore[index]
        repos: list[dict[str, Any]] = data["repos"]  # type: ignore[assignment]
        categories: list[dict[str, Any]] = data["categories"]  # type: ignore[assignment]
        self.repos = {r["name"]: RepoView(tuple(r["protected"]), tuple(r["protected_tags"]), tuple(r["other_refs"]))
                      for r in repos}
        self.categories = tuple(HookCategory(c["name"], tuple(c["paths"]), c["format"]) for c in categories)

    def token(self) -> str:
        """The hook token: ``hook_token_file`` wins over ``hook_token_env`` (SPEC §11)."""
        if self.hook_token_file:
            return read_token_file(self.hook_token_file, owner=os.geteuid())
        token = os.environ.get(self.hook_token_env, "")
        if not token:
            raise ConfigError(f"hook token not set: the git server must give its hook processes the environment "
                              f"variable {self.hook_token_env}, holding the service's hook token")
        return token

    def format_of(self, path: str) -> str | None:
        """``registry.format_of``: the same answer the service gives for this path."""
        return format_of(path, self.categories)


def view(config: Config) -> dict[str, object]:
    """The part of the policy the hooks read, defaults filled in, plus the policy's SHA-256."""
    svc, git = config.service, config.git
    return {
        "v": VIEW_VERSION,
        "sha256": config.sha256,
        "service": {"url": svc.url, "hook_token_env": svc.hook_token_env, "fail_open": svc.fail_open,
                    "hook_token_file": str(svc.hook_token_file) if svc.hook_token_file else None},
        "git": {"pusher_env": list(git.pusher_env), "max_content_bytes": git.max_content_bytes},
        "repos": [{"name": r.name, "protected": list(r.protected), "protected_tags": list(r.protected_tags),
                   "other_refs": list(r.other_refs)} for r in config.repos],
        "categories": [{"name": c.name, "paths": list(c.paths), "format": c.format} for c in config.categories],
    }


def read_token_file(path: str, owner: int | None) -> str:
    """The token in ``path``, which must be a regular file of mode 0600 or 0400 (and, when ``owner``
    is given, owned by that uid: the git server's user for hooks). Hook processes under sshd or a web
    server do not inherit the service's environment, so the secret lives in a file only they can read;
    anything looser, or not theirs, could have been read or replaced by someone else: refused."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        import errno

        why = "is a symbolic link; name the file itself" if exc.errno == errno.ELOOP else f": {exc.strerror}"
        raise ConfigError(f"hook token file {path}{'' if why[0] == ':' else ' '}{why}",
                          key="service.hook_token_file") from exc
    try:
        st = os.fstat(fd)
        mode = stat.S_IMODE(st.st_mode)
        problem = ("is not a regular file" if not stat.S_ISREG(st.st_mode)
                   else f"has mode {mode:04o}; it must be 0600 or 0400" if mode not in (0o600, 0o400)
                   else f"is owned by uid {st.st_uid}, not by this user (uid {owner})"
                   if owner is not None and st.st_uid != owner else None)
        if problem:
            raise ConfigError(f"hook token file {path} {problem}", key="service.hook_token_file")
        raw = os.read(fd, 4097)
    finally:
        os.close(fd)
    token = raw.decode("utf-8", "replace").strip()
    if not token or len(raw) > 4096 or any(c.isspace() for c in token):
        raise ConfigError(f"hook token file {path} must hold one token on one line",
                          key="service.hook_token_file")
    return token


def service_token(token_file: object, env_name: str) -> str:
    """The hook token as the service knows it: ``hook_token_file`` wins when the service may read it
    (same user, or its own copy on another host); a file only the git server's user may read leaves
    the service on ``hook_token_env``. "" when there is none."""
    if token_file is not None:
        try:
            return read_token_file(str(token_file), owner=None)
        except ConfigError:
            if not (os.environ.get(env_name) and _unreadable(str(token_file))):
                raise
    return os.environ.get(env_name, "")


def _unreadable(path: str) -> bool:
    try:
        open(path, "rb").close()
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def load(path: str | None, baked: str | None = None) -> HookConfig:
    """The policy at ``path``; ``baked`` (a ``view()`` as JSON) is used while the file is unchanged."""
    path = path or os.environ.get("GATEKEEPER_CONFIG") or "config/gatekeeper.toml"
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read configuration: {exc.strerror}", file=path) from exc
    if baked:
        import hashlib
        import json

        try:
            data = json.loads(baked)
        except ValueError:
            data = None
        if (isinstance(data, dict) and data.get("v") == VIEW_VERSION
                and data.get("sha256") == hashlib.sha256(raw).hexdigest()):
            return HookConfig(path, data)
    from pathlib import Path  # the slow path: the policy changed since install-hooks baked its view

    from gatekeeper.config import parse

    return HookConfig(path, view(parse(raw, Path(path))))
