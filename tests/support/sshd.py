"""A throwaway system user and a private OpenSSH ``sshd`` on a free loopback port (issue 13).

``system_user()`` creates a user whose HOME is a temp dir (``useradd --system``, password field
``*`` so sshd's key login is not refused as for a locked account) and deletes it afterwards.
``running_sshd()`` starts ``/usr/sbin/sshd -D -e -f <own config>`` with its own host key,
``UsePAM no`` and only that user allowed, and stops it by PID. Clients get a ``GIT_SSH_COMMAND``
that pins the host key. Missing binaries fail naming the apt package: never skipped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import process
from tests.support.process import free_port, require

SSHD = Path("/usr/sbin/sshd")


def readable_dir(prefix: str) -> Path:
    """A temp dir other users may traverse (mkdtemp's are 0700): for files the git user reads."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@dataclass(frozen=True)
class SystemUser:
    name: str
    uid: int
    gid: int
    home: Path

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name,
                "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", **(extra or {})}

    def run(self, *args: str, check: bool = True, env: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        """``args`` as this user, in its HOME, with a login-like environment."""
        return process.run(args, check=check, what=f"{' '.join(args)} as {self.name}", user=self.uid,
                           group=self.gid, extra_groups=[], cwd=self.home, env=self.env(env), input=input)


@contextlib.contextmanager
def system_user(prefix: str = "gkgit") -> Iterator[SystemUser]:
    if os.geteuid() != 0:
        pytest.fail("creating the git server's system user needs root (as CI runs)", pytrace=False)
    require("/usr/sbin/useradd", "passwd")
    name = f"{prefix}{secrets.token_hex(3)}"
    home = readable_dir(f"gk-{name}-")
    subprocess.run(["useradd", "--system", "--home-dir", str(home), "--shell", "/bin/sh", "--user-group", name],
                   check=True, capture_output=True)
    try:
        subprocess.run(["usermod", "-p", "*", name], check=True, capture_output=True)
        pw = pwd.getpwnam(name)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        yield SystemUser(name=name, uid=pw.pw_uid, gid=pw.pw_gid, home=home)
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def keygen(path: Path, comment: str) -> Path:
    """An ed25519 key pair without passphrase; returns the private key's path."""
    require("/usr/bin/ssh-keygen", "openssh-client")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True)
    return path


@dataclass
class Sshd:
    root: Path
    user: SystemUser
    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def ssh_command(self, key: Path) -> str:
        """``GIT_SSH_COMMAND`` for a client using ``key``; the host key is pinned (known_hosts)."""
        return (f"ssh -p {self.port} -i {key} -o IdentitiesOnly=yes -o BatchMode=yes "
                f"-o UserKnownHostsFile={self.root / 'known_hosts'} -o StrictHostKeyChecking=yes "
                "-o LogLevel=ERROR -F /dev/null")

    def start(self) -> None:
        self.proc = process.spawn([str(SSHD), "-D", "-e", "-f", str(self.root / "sshd_config")],
                                  self.root / "sshd.log")
        process.wait_ready(self.proc, lambda: process.port_open("127.0.0.1", self.port), name="sshd",
                           what=f"listen on {self.port}", tail=self.log_tail)

    def stop(self) -> None:
        process.stop(self.proc)
        self.proc = None

    def log_tail(self, lines: int = 20) -> str:
        return process.log_tail(self.root, "sshd.log", lines=lines)


@contextlib.contextmanager
def running_sshd(user: SystemUser) -> Iterator[Sshd]:
    """sshd for ``user`` only, on 127.0.0.1:<free port>; its host key in the known_hosts we hand out."""
    require(str(SSHD), "openssh-server")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir, made by the unit normally
    root = Path(tempfile.mkdtemp(prefix="gk-sshd-"))
    try:
        host_key = keygen(root / "host_ed25519", "gatekeeper-test-host")

        def start() -> Sshd:
            server = Sshd(root=root, user=user, port=free_port())
            (root / "sshd_config").write_text(f"""Port {server.port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {root / "sshd.pid"}
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers {user.name}
PermitRootLogin no
StrictModes yes
UseDNS no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
LogLevel INFO
""")
            pub = (root / "host_ed25519.pub").read_text().split()
            (root / "known_hosts").write_text(f"[127.0.0.1]:{server.port} {pub[0]} {pub[1]}\n")
            server.start()
            return server

        server = process.start_retrying(start)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
