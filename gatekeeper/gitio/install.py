"""Installing the server hooks into a bare repo, and attesting what was installed (SPEC §7, §8, §11).

Never deletes or overwrites a hook it did not write: a foreign ``pre-receive``/``post-receive`` is
renamed ``<hook>.chained`` and run first by our shim; gitolite's ``update`` hook is left alone.

Layouts (where the git server runs hooks from):
- ``plain`` and ``gitolite``: ``hooks/pre-receive`` and ``hooks/post-receive``. gitolite 3.6 resets
  only ``update`` and the common hooks at ``gitolite setup``/``compile``, so these survive; its
  repo-specific hooks would instead replace ``hooks/pre-receive`` with a driver symlink and delete
  ``hooks/pre-receive.*`` at every compile, so a hook gitolite manages is refused, not chained.
- ``gitlab``: ``custom_hooks/<hook>.d/gatekeeper`` (Gitaly's server hooks);
- ``gitea``: ``hooks/<hook>.d/gatekeeper``, run by Gitea's own ``hooks/<hook>`` dispatcher.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import subprocess
import sys
from dataclasses import replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import gatekeeper
from gatekeeper.errors import InputError
from gatekeeper.ledger.events import HooksAttested

HOOKS = ("pre-receive", "post-receive")
MARKER = "gatekeeper-managed-hook"
# Set by install-hooks and attested: a repo where one was changed later shows hook drift.
# receive.fsckObjects makes git refuse malformed trees (``..``/``.git`` entries) before any hook runs;
# core.logAllRefUpdates = always makes git keep a reflog of every ref: the evidence a deploy intent
# settled later is confirmed or voided by (issue 22 item 1, ``gitio.reflog``).
GIT_CONFIG = {"receive.advertisePushOptions": "true", "receive.fsckObjects": "true",
              "core.logAllRefUpdates": "always"}
LAYOUTS = ("plain", "gitolite", "gitlab", "gitea")
_D_FOLDERS = {"gitlab": "custom_hooks/{hook}.d", "gitea": "hooks/{hook}.d"}
_D_NAME = "gatekeeper"


def hook_files(layout: str) -> dict[str, str]:
    """hook name → our shim's path relative to the repo, for ``layout``."""
    if layout in _D_FOLDERS:
        return {h: _D_FOLDERS[layout].format(hook=h) + "/" + _D_NAME for h in HOOKS}
    return {h: f"hooks/{h}" for h in HOOKS}


def shim_dir() -> Traversable:
    """Where the hook shims are: ``gatekeeper/shims/`` in an installed package (``setup.py`` maps the
    top-level ``hooks/`` there), the checkout's own ``hooks/`` when running from source (an editable
    install). One source either way."""
    installed = resources.files("gatekeeper").joinpath("shims")
    return installed if installed.is_dir() else Path(gatekeeper.__file__).resolve().parents[1] / "hooks"


def _shim(name: str, values: dict[str, str]) -> bytes:
    """The hook template with its ``@KEY@`` placeholders filled in, shell-quoted."""
    text = shim_dir().joinpath(name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", shlex.quote(value))
    return text.encode("utf-8")


def is_ours(path: Path) -> bool:
    try:
        return MARKER.encode() in path.read_bytes()[:400]
    except OSError:
        return False


def _git(repo: Path) -> list[str]:
    """git in ``repo``, which may belong to the git server's user while we run as root: trusted
    explicitly (safe.directory) since installing into that very repo is the point."""
    return ["git", "-c", f"safe.directory={repo.resolve()}"]


def _git_config(repo: Path, key: str, value: str) -> None:
    subprocess.run([*_git(repo), "config", key, value], cwd=repo, check=True, capture_output=True)


def check_bare(repo: Path) -> None:
    out = subprocess.run([*_git(repo), "rev-parse", "--is-bare-repository"], cwd=repo, capture_output=True, text=True)
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


def install(repo: Path, name: str, config_path: Path, python: str | None = None,
            layout: str = "plain") -> HooksAttested:
    """Write the shims, chain foreign hooks, set git config; returns the attestation to log."""
    check_bare(repo)
    if layout not in LAYOUTS:
        raise InputError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    import json

    from gatekeeper.config import load
    from gatekeeper.gitio.hookconfig import view

    values = {"PYTHON": python or sys.executable, "PYTHONPATH": str(Path(gatekeeper.__file__).resolve().parents[1]),
              "CONFIG": str(config_path.resolve()), "REPO": name,
              "POLICY": json.dumps(view(load(config_path)), separators=(",", ":"), sort_keys=True)}
    _check_layout(repo, layout)
    precompile(values["PYTHON"])
    check_runnable(repo, values)
    foreign = {hook: repo / rel for hook, rel in hook_files(layout).items()
               if ((repo / rel).exists() or (repo / rel).is_symlink()) and not is_ours(repo / rel)}
    for hook, target in foreign.items():  # every refusal before anything is written
        if layout in _D_FOLDERS:
            raise InputError(f"{target} exists and is not Gatekeeper's; move it aside first")
        keep = target.parent / f"{hook}.chained"
        if keep.exists() or keep.is_symlink():
            raise InputError(f"{target} is not Gatekeeper's and {keep} already exists; move one aside first")
    chained = []
    for hook, rel in hook_files(layout).items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if hook in foreign:
            os.rename(target, target.parent / f"{hook}.chained")
            chained.append(hook)
        tmp = target.parent / f".{hook}.gatekeeper-tmp"
        tmp.write_bytes(_shim(hook, values))
        tmp.chmod(0o755)
        os.replace(tmp, target)
    for key, value in GIT_CONFIG.items():
        _git_config(repo, key, value)
    _match_owner(repo, [repo / rel for rel in hook_files(layout).values()] + [repo / "config"])
    return replace(attestation(repo, name, layout), chained=tuple(chained))


def precompile(python: str) -> None:
    """Compile the package's bytecode for the hook's interpreter now, so that no push pays for it. A git
    server may run hooks with ``PYTHONDONTWRITEBYTECODE`` set or as a user who cannot write
    ``__pycache__``; each hook then compiled its modules from source on every push (measured: the hook's
    imports 33 ms instead of 12 ms, twice a push). Best effort: where the package cannot be written
    (a read-only install), pip compiled it already, and a hook runs from source all the same."""
    import compileall

    root = Path(gatekeeper.__file__).resolve().parent
    if python == sys.executable:
        compileall.compile_dir(root, quiet=2)
        return
    # check_runnable says it plainly if this interpreter cannot run the hooks at all
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run([python, "-m", "compileall", "-q", str(root)], env={"PATH": os.environ.get("PATH", "")},
                       capture_output=True, cwd="/", timeout=300)


def _check_layout(repo: Path, layout: str) -> None:
    """Refuse what would not run our hooks, or would silently drop them later."""
    hooks = repo / "hooks"
    if layout == "gitolite":
        update = hooks / "update"
        if not ((update.is_symlink() and "gitolite" in str(update.readlink())) or
                (update.is_file() and b"gitolite" in update.read_bytes()[:2000].lower())):
            raise InputError(f"{repo} is not a gitolite repository (hooks/update is not gitolite's); "
                             "create it in gitolite.conf first, or use --layout plain")
        for hook in HOOKS:
            link = hooks / hook
            if link.is_symlink() and not is_ours(link):
                raise InputError(f"{link} is managed by gitolite (a link to {link.readlink()}): gitolite "
                                 f"replaces it at every compile; remove the {hook} from gitolite's common or "
                                 "repo-specific hooks for this repo first")
    if layout == "gitea":
        for hook in HOOKS:
            dispatcher = hooks / hook
            if not dispatcher.is_file() or is_ours(dispatcher):
                raise InputError(f"{dispatcher} (Gitea's dispatcher of hooks/{hook}.d) is missing: "
                                 "is this a Gitea repository?")


def check_runnable(repo: Path, values: dict[str, str]) -> None:
    """Run the hook's imports and read the policy (and hook token file) as the repo's owner, the user
    the git server runs hooks as: a Python in a private home, a package or policy it cannot read
    would otherwise fail on the first push (closed, but obscure)."""
    st = repo.stat()
    user = st.st_uid if os.geteuid() == 0 and st.st_uid != 0 else None
    group, groups = _groups_of(st.st_uid, st.st_gid) if user is not None else (None, None)
    code = ("import os, sys; from gatekeeper.gitio.hookconfig import load; import gatekeeper.gitio.hook; "
            "c = load(os.environ['GATEKEEPER_HOOK_CONFIG'], os.environ['GATEKEEPER_HOOK_POLICY']); "
            "c.token() if c.hook_token_file else None")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": values["PYTHONPATH"],
           "GATEKEEPER_HOOK_CONFIG": values["CONFIG"], "GATEKEEPER_HOOK_POLICY": values["POLICY"]}
    who = f" as uid {user}" if user is not None else ""
    if user is None and values["PYTHON"] == sys.executable:  # this very process can: check in place
        from gatekeeper.gitio.hookconfig import load

        config = load(values["CONFIG"], values["POLICY"])
        if config.hook_token_file:
            config.token()
        return
    try:
        proc = subprocess.run([values["PYTHON"], "-S", "-c", code], env=env, user=user, group=group,
                              extra_groups=groups, cwd="/",
                              capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise InputError(f"cannot run the hook interpreter {values['PYTHON']}{who}: {exc.strerror} "
                         "(choose one with --python)") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["exit status " + str(proc.returncode)])[-1]
        raise InputError(f"the hooks could not run{who} with {values['PYTHON']} and PYTHONPATH "
                         f"{values['PYTHONPATH']}: {last}")


def _groups_of(uid: int, gid: int) -> tuple[int, list[int]]:
    """The primary and supplementary groups ``uid`` has when the git server runs its hooks."""
    import pwd

    try:
        pw = pwd.getpwuid(uid)
    except KeyError:
        return gid, []
    return pw.pw_gid, os.getgrouplist(pw.pw_name, pw.pw_gid)


def _match_owner(repo: Path, files: list[Path]) -> None:
    """Files we create belong to the repo's owner (install-hooks may run as root)."""
    st = repo.stat()
    if os.geteuid() != 0 or st.st_uid == 0:
        return
    for f in files:
        for p in [f, *f.relative_to(repo).parents]:
            p = repo / p
            if p != repo and p.stat().st_uid != st.st_uid:
                os.chown(p, st.st_uid, st.st_gid)


def attestation(repo: Path, name: str, layout: str = "plain") -> HooksAttested:
    """SHA-256 of every hook file Gatekeeper relies on, plus the git settings the shims read."""
    files = {}
    for hook, rel in hook_files(layout).items():
        path = repo / rel
        relies = [path, path.parent / f"{hook}.chained"] if layout not in _D_FOLDERS else [path]
        if layout == "gitea":
            relies.append(repo / "hooks" / hook)  # Gitea's dispatcher: ours only run if it runs them
        for candidate in relies:
            if candidate.exists():
                key = candidate.name if layout in ("plain", "gitolite") else str(candidate.relative_to(repo))
                files[key] = hashlib.sha256(candidate.read_bytes()).hexdigest()
    settings = {}
    for key in GIT_CONFIG:
        out = subprocess.run([*_git(repo), "config", "--get", key], cwd=repo, capture_output=True, text=True)
        settings[key] = out.stdout.strip()
    combined = hashlib.sha256("\n".join(f"{k} {v}" for k, v in sorted(files.items())).encode()).hexdigest()
    return HooksAttested(repo=name, path=str(repo.resolve()), files=files, git_config=settings, sha256=combined,
                         layout=layout)


def drift(repo: Path, name: str, attested: HooksAttested) -> list[str]:
    """What differs between the installed hooks and an attestation (for reconcile / exceptions)."""
    now = attestation(repo, name, attested.layout)
    out = []
    for fname in sorted(set(now.files) | set(attested.files)):
        a, b = attested.files.get(fname), now.files.get(fname)
        if a != b:
            out.append(f"{fname}: " + ("missing now" if b is None else "not attested" if a is None else
                                       f"hash {b[:12]} differs from attested {a[:12]}"))
    for key, value in attested.git_config.items():
        if now.git_config.get(key) != value:
            out.append(f"git config {key}: {now.git_config.get(key)!r}, attested {value!r}")
    for key, value in GIT_CONFIG.items():  # also against an attestation older than the setting
        if key not in attested.git_config and now.git_config.get(key) != value:
            out.append(f"git config {key}: {now.git_config.get(key)!r}, install-hooks sets {value!r}")
    return out

