"""The few policy values the hooks need (standard library only).

The full loader (``gatekeeper.config``) validates everything with frozen dataclasses; its import
alone costs more than a whole plain push, so the hooks read this lean view instead. The service, which
refuses to start on an invalid policy, stays the authority: a policy the hook cannot read makes it
refuse protected refs (fail closed).
"""

from __future__ import annotations

import os
from collections import namedtuple

from gatekeeper.errors import ConfigError
from gatekeeper.policy.categories import branch_pattern, branch_pattern_problem, path_pattern_problem
from gatekeeper.policy.registry import format_of

# What the hooks need of a category; the same attribute names as config.Category, so classify() and
# registry.format_of() serve both. A plain namedtuple: typing.NamedTuple would import typing on every push.
HookCategory = namedtuple("HookCategory", "name paths format")

DEFAULT_PUSHER_ENV = ("GATEKEEPER_USER", "GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER", "REMOTE_USER")


class HookConfig:
    __slots__ = ("categories", "fail_open", "hook_token_env", "hook_token_file", "max_content_bytes", "path",
                 "pusher_env", "repos", "url")

    def __init__(self, path: str, data: dict[str, object]) -> None:
        def table(name: str) -> dict[str, object]:
            value = data.get(name, {})
            if not isinstance(value, dict):
                raise ConfigError("must be a table", file=path, key=name)
            return value

        service, git = table("service"), table("git")
        self.path = path
        self.url = str(service.get("url", "http://127.0.0.1:8080")).rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError("must start with http:// or https://", file=path, key="service.url")
        self.hook_token_env = str(service.get("hook_token_env", "GATEKEEPER_HOOK_TOKEN"))
        token_file = service.get("hook_token_file")
        # Relative to the policy file's folder, like every path in it (SPEC §4).
        self.hook_token_file = os.path.join(os.path.dirname(os.path.abspath(path)), str(token_file)) \
            if token_file else None
        self.fail_open = service.get("fail_open", False) is True
        self.pusher_env = tuple(str(v) for v in git.get("pusher_env", DEFAULT_PUSHER_ENV))  # type: ignore[attr-defined]
        self.max_content_bytes = int(git.get("max_content_bytes", 20 * 1024 * 1024))  # type: ignore[call-overload]
        self.repos: dict[str, tuple[str, ...]] = {}
        for r in data.get("repos", []):  # type: ignore[attr-defined]
            raw = r.get("protected", [])
            if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):  # "main" is not ["main"]
                raise ConfigError("must be a list of branch names or patterns", file=path,
                                  key=f"repos[{r['name']}].protected")
            patterns = tuple(raw)
            if not patterns:
                raise ConfigError("must name at least one branch or pattern", file=path,
                                  key=f"repos[{r['name']}].protected")
            for p in patterns:  # the service refuses such a policy too; the hook must not read it as "nothing"
                if problem := branch_pattern_problem(p):
                    raise ConfigError(problem, file=path, key=f"repos[{r['name']}].protected")
            self.repos[str(r["name"])] = tuple(branch_pattern(p) for p in patterns)
        self.categories: tuple[HookCategory, ...] = tuple(  # in policy order
            HookCategory(str(c["name"]), tuple(str(p) for p in c.get("paths", [])), c.get("format"))
            for c in data.get("categories", []))  # type: ignore[attr-defined]
        for cat in self.categories:
            for p in cat.paths:
                if problem := path_pattern_problem(p):
                    raise ConfigError(problem, file=path, key=f"categories[{cat.name}].paths")

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


def view(raw: bytes) -> dict[str, object]:
    """The part of the policy the hooks read, plus the policy's SHA-256: baked into the hook shims by
    install-hooks so a push does not pay for parsing TOML (the hook files are attested)."""
    import hashlib
    import tomllib

    data = tomllib.loads(raw.decode("utf-8"))
    service, git = data.get("service", {}), data.get("git", {})
    return {
        "sha256": hashlib.sha256(raw).hexdigest(),
        "service": {k: service[k] for k in ("url", "hook_token_env", "hook_token_file", "fail_open")
                    if k in service},
        "git": {k: git[k] for k in ("pusher_env", "max_content_bytes") if k in git},
        "repos": [{"name": r["name"], "protected": r.get("protected", [])} for r in data.get("repos", [])],
        "categories": [{k: c[k] for k in ("name", "paths", "format") if k in c} for c in data.get("categories", [])],
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


def load(path: str | None, baked: str | None = None) -> HookConfig:
    """The policy at ``path``; ``baked`` (a ``view()`` as JSON) is used while the file is unchanged."""
    path = path or os.environ.get("GATEKEEPER_CONFIG") or "config/gatekeeper.toml"
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read configuration: {exc.strerror}", file=path) from exc
    try:
        if baked:
            import hashlib
            import json

            data = json.loads(baked)
            if isinstance(data, dict) and data.get("sha256") == hashlib.sha256(raw).hexdigest():
                return HookConfig(path, data)
        import tomllib  # the slow path: the policy changed since install-hooks baked it

        return HookConfig(path, tomllib.loads(raw.decode("utf-8")))
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", file=path) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # TOMLDecodeError is a ValueError
        raise ConfigError(f"invalid policy: {exc}", file=path) from exc
