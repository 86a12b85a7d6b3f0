"""A throwaway gitolite3 server over a private sshd, and a copy of Gatekeeper its hooks can run.

``running_gitolite(people)`` makes a system user with HOME in a temp dir, one ed25519 key per person
(keydir/<person>.pub, so GL_USER is the person), runs ``gitolite setup -pk`` as that user and starts
a private sshd; ``configure(conf)`` rewrites gitolite.conf and runs ``gitolite setup`` again (what
a push to gitolite-admin triggers), which is also how the suite proves our hooks survive it.

Hooks run as the gitolite user, who may not read root's home (pyenv's python) nor the checkout
(CI may clone under a root-only path): ``hook_package()`` copies ``gatekeeper/`` into a temp dir
everyone may read, compiled for Debian's ``/usr/bin/python3`` (apt python3), the hooks' interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gatekeeper
from tests.support.git import no_git_env
from tests.support.plant import POLICY, Plant, make_plant
from tests.support.process import require
from tests.support.service import HOOK_TOKEN
from tests.support.sshd import Sshd, SystemUser, keygen, readable_dir, running_sshd, system_user

GITOLITE = "/usr/bin/gitolite"
HOOK_PYTHON = "/usr/bin/python3"


@functools.cache
def hook_package() -> Path:
    """``gatekeeper/`` copied where any user may read it, once per session (removed at exit); returns
    the folder to put on PYTHONPATH."""
    require(HOOK_PYTHON, "python3")
    root = readable_dir("gk-hookpkg-")
    atexit.register(shutil.rmtree, root, True)
    src = Path(gatekeeper.__file__).resolve().parent
    # The venv's bytecode comes along (same 3.11 magic, sources' mtimes kept): compileall then only
    # compiles what was never imported here. The hooks' user cannot write __pycache__ itself.
    shutil.copytree(src, root / "gatekeeper")
    subprocess.run([HOOK_PYTHON, "-m", "compileall", "-q", str(root / "gatekeeper")], check=True,
                   capture_output=True)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)  # noqa: S103 - the git user must read it
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    return root


def install_hooks(config: Path, repo: Path, name: str, layout: str, package: Path, python: str = HOOK_PYTHON,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``gatekeeper repo install-hooks`` run from the readable copy, so that is the path baked in."""
    env = no_git_env({"PYTHONPATH": str(package), **(env or {})})
    return subprocess.run([sys.executable, "-m", "gatekeeper", "--config", str(config), "repo", "install-hooks",
                           str(repo), "--name", name, "--layout", layout, "--python", python],
                          capture_output=True, text=True, env=env)


def token_file_plant(prefix: str, uid: int, gid: int, policy: str = POLICY, mode: int = 0o600) -> Plant:
    """A plant in a folder other users may read whose hooks take the token from ``hook_token_file``
    (hooks under sshd or a CGI do not inherit the service's environment), owned by the hooks' user."""
    policy = policy.replace("fail_open = false\n", 'fail_open = false\nhook_token_file = "hook-token"\n')
    plant = make_plant(readable_dir(prefix) / "plant", policy=policy)
    token = plant.dir / "hook-token"
    token.write_text(HOOK_TOKEN + "\n")
    token.chmod(mode)
    os.chown(token, uid, gid)
    return plant


@dataclass
class Gitolite:
    user: SystemUser
    sshd: Sshd
    keys: Path

    def key(self, person: str) -> Path:
        return self.keys / person

    def repo(self, name: str) -> Path:
        return self.user.home / "repositories" / f"{name}.git"

    def url(self, name: str) -> str:
        return f"{self.user.name}@127.0.0.1:{name}"

    def env(self, person: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A client environment pushing as ``person`` (their key); nothing of the hook's env leaks."""
        return no_git_env({"GIT_SSH_COMMAND": self.sshd.ssh_command(self.key(person)), **(extra or {})})

    def configure(self, conf: str) -> None:
        """Write gitolite.conf and run ``gitolite setup`` (compile + triggers, as a push to the admin repo)."""
        path = self.user.home / ".gitolite" / "conf" / "gitolite.conf"
        path.write_text(conf)
        os.chown(path, self.user.uid, self.user.gid)
        self.user.run(GITOLITE, "setup")

    def add_person(self, person: str) -> None:
        keygen(self.keys / person, person)
        pub = self.user.home / ".gitolite" / "keydir" / f"{person}.pub"
        shutil.copyfile(self.keys / f"{person}.pub", pub)
        os.chown(pub, self.user.uid, self.user.gid)


@contextlib.contextmanager
def running_gitolite(people: list[str]) -> Iterator[Gitolite]:
    require(GITOLITE, "gitolite3")
    with system_user("gkgl") as user:
        keys = Path(tempfile.mkdtemp(prefix="gk-glkeys-"))
        try:
            keygen(keys / "admin", "admin")
            admin_pub = user.home / "admin.pub"
            shutil.copyfile(keys / "admin.pub", admin_pub)
            os.chown(admin_pub, user.uid, user.gid)
            user.run(GITOLITE, "setup", "-pk", str(admin_pub))
            with running_sshd(user) as sshd:
                server = Gitolite(user=user, sshd=sshd, keys=keys)
                for person in people:
                    server.add_person(person)
                yield server
        finally:
            shutil.rmtree(keys, ignore_errors=True)
