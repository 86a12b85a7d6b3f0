"""A throwaway Apache httpd serving git smart HTTP through ``git-http-backend`` (issue 13).

``running_apache()`` writes its own httpd.conf (modules loaded by absolute path, prefork + mod_cgi,
children as ``www-data``), starts ``/usr/sbin/apache2 -f <conf> -DFOREGROUND`` on a free loopback
port and stops it by PID. Two locations share one ``GIT_PROJECT_ROOT``: ``/ldap/`` authenticates
with mod_authnz_ldap against a test slapd, ``/file/`` with an htpasswd file; either way the pusher
reaches the hooks as ``REMOTE_USER``. The same vhost, with TLS, is in docs/deploy.md.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import process
from tests.support.process import free_port, require

APACHE = Path("/usr/sbin/apache2")
MODULES = Path("/usr/lib/apache2/modules")
BACKEND = Path("/usr/lib/git-core/git-http-backend")
RUN_AS = "www-data"
_MODULES = ("mpm_prefork", "authz_core", "authn_core", "auth_basic", "authn_file", "authz_user", "ldap",
            "authnz_ldap", "cgi", "alias", "env")


@dataclass(frozen=True)
class LdapAuth:
    url: str  # ldap://host:port
    user_base: str
    bind_dn: str
    bind_password: str


def httpd_conf(root: Path, port: int, git_root: Path, ldap: LdapAuth | None, htpasswd: Path | None) -> str:
    loads = "".join(f"LoadModule {m}_module {MODULES / f'mod_{m}.so'}\n" for m in _MODULES)
    out = [f"""ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {root / "httpd.pid"}
DefaultRuntimeDir {root}
ErrorLog {root / "error.log"}
LogLevel warn
User {RUN_AS}
Group {RUN_AS}
StartServers 2
MinSpareServers 1
MaxSpareServers 4
{loads}
SetEnv GIT_PROJECT_ROOT {git_root}
SetEnv GIT_HTTP_EXPORT_ALL 1
ScriptAlias /ldap/ {BACKEND}/
ScriptAlias /file/ {BACKEND}/
<Directory "{BACKEND.parent}">
    Require all granted
</Directory>
"""]
    if ldap is not None:
        out.append(f"""<Location /ldap/>
    AuthType Basic
    AuthName "plant git (directory)"
    AuthBasicProvider ldap
    AuthLDAPURL "{ldap.url}/{ldap.user_base}?uid?sub?(objectClass=inetOrgPerson)"
    AuthLDAPBindDN "{ldap.bind_dn}"
    AuthLDAPBindPassword "{ldap.bind_password}"
    AuthLDAPRemoteUserAttribute uid
    Require valid-user
</Location>
""")
    if htpasswd is not None:
        out.append(f"""<Location /file/>
    AuthType Basic
    AuthName "plant git (htpasswd)"
    AuthBasicProvider file
    AuthUserFile {htpasswd}
    Require valid-user
</Location>
""")
    return "".join(out)


@dataclass
class Apache:
    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, prefix: str, repo: str, user: str = "", password: str = "") -> str:
        from urllib.parse import quote

        cred = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
        return f"http://{cred}127.0.0.1:{self.port}/{prefix}/{repo}.git"

    def start(self) -> None:
        proc = self.proc = process.spawn([str(APACHE), "-f", str(self.root / "httpd.conf"), "-DFOREGROUND"],
                                         self.root / "stderr.log", env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                                         start_new_session=True)  # prefork signals its whole process group

        def ready() -> bool:
            if not process.port_open("127.0.0.1", self.port):
                return False
            time.sleep(0.2)  # httpd listens before its modules' post-config, which may still fail
            return proc.poll() is None

        process.wait_ready(proc, ready, name="apache2", what=f"listen on {self.port}", tail=self.log_tail)

    def stop(self) -> None:
        process.stop(self.proc)  # SIGTERM to the parent stops its children
        self.proc = None

    def log_tail(self, lines: int = 20) -> str:
        return process.log_tail(self.root, "stderr.log", "error.log", lines=lines)


@contextlib.contextmanager
def running_apache(git_root: Path, *, ldap: LdapAuth | None = None,
                   htpasswd: Path | None = None) -> Iterator[Apache]:
    require(str(APACHE), "apache2")
    require(str(MODULES / "mod_authnz_ldap.so"), "apache2-bin")
    require(str(BACKEND), "git")
    root = Path(tempfile.mkdtemp(prefix="gk-httpd-"))

    def start() -> Apache:
        server = Apache(root=root, port=free_port())
        (root / "httpd.conf").write_text(httpd_conf(root, server.port, git_root, ldap, htpasswd))
        server.start()
        return server

    try:
        server = process.start_retrying(start)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def htpasswd_file(path: Path, users: dict[str, str]) -> Path:
    """An htpasswd file (bcrypt, by Apache's own ``htpasswd``)."""
    require("/usr/bin/htpasswd", "apache2-utils")
    for i, (user, password) in enumerate(users.items()):
        subprocess.run(["htpasswd", "-i", "-B", "-C", "4", *(["-c"] if i == 0 else []), str(path), user],
                       input=password, text=True, check=True, capture_output=True)
    path.chmod(0o644)
    return path
