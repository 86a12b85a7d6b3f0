"""A throwaway Samba Active Directory domain controller on a loopback address (issue 13).

Provisioning (``samba-tool domain provision --server-role=dc --dns-backend=NONE --use-rfc2307``)
plus the plant's people and groups takes several seconds, so the result is cached under
``/var/tmp/gatekeeper-test-cache/samba-<key>`` (key: Samba's version and the plant) and each
session copies it to a temp dir; only smb.conf names absolute paths, and it is rewritten. The copy
runs as ``samba -i -M single -s <smb.conf>`` (one process, stopped by PID) with ``server services =
ldap, cldap, kdc``, ``ldap server require strong auth = no`` (simple binds) and a TLS certificate
whose SAN is the listen address, signed by a test CA, so ldaps:// and StartTLS verify. LDAP ports
are fixed (389/636), the address is not: each DC takes a random 127.x.y.z, and its pid file and
sockets are in its own folder, so parallel sessions (and pytest-xdist workers) do not collide.
Searches from the domain root return referrals, which the directory skips.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import ldap3
from ldap3.core.exceptions import LDAPException

from gatekeeper.config import DirectoryConfig
from tests.support import process
from tests.support.process import Tls, make_tls, require
from tests.support.slapd import password

SAMBA = Path("/usr/sbin/samba")
SAMBA_TOOL = Path("/usr/bin/samba-tool")
SYSTEM_PYTHON = "/usr/bin/python3"  # samba's Python bindings are Debian's (python3-samba)
CACHE = Path(os.environ.get("GATEKEEPER_TEST_CACHE", "/var/tmp/gatekeeper-test-cache"))
REALM, DOMAIN = "PLANT.EXAMPLE", "PLANT"
BASE = "DC=plant,DC=example"
PLANT_OU = f"OU=Plant,{BASE}"
ADMIN_DN = f"CN=Administrator,CN=Users,{BASE}"
ADMIN_PASSWORD = "Admin-Secret-1"
SERVICE_DN = f"CN=gatekeeper,OU=Services,{PLANT_OU}"
SERVICE_PASSWORD = "Service-Secret-1"
DISABLED = "grace"  # userAccountControl 514 (NORMAL_ACCOUNT | ACCOUNTDISABLE) from the start

# username -> (given name, surname); mail is <username>@plant.example, UPN the same
PEOPLE = {"alice": ("Alice", "Engineer"), "bob": ("Bob", "Controller"), "carol": ("Carol", "Lead"),
          "dave": ("Dave", "Auditor"), "erin": ("Erin", "On-Call"), "frank": ("Frank", "Admin"),
          "gina": ("Gina", "Lead"), "grace": ("Grace", "Leaver"), "henry": ("Henry", "Shift")}
# group -> members (users or groups); henry reaches ot-engineers three levels up
GROUPS = {"ot-engineers": ["alice", "erin", "ot-engineering-leads"],
          "ot-engineering-leads": ["carol", "gina", "grace", "shift-leads"],
          "shift-leads": ["henry"], "finance-controllers": ["bob"], "auditors": ["dave"],
          "ot-emergency": ["erin"], "gatekeeper-admins": ["frank"]}

# Run by Debian's python3 with samba's bindings, offline on sam.ldb before samba starts: one process
# instead of one samba-tool start per user (what samba-tool user create --use-username-as-cn does).
_POPULATE = """
import json, sys
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
conf, spec = sys.argv[1], json.loads(sys.stdin.read())
lp = LoadParm(); lp.load(conf)
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
base = db.domain_dn()
for ou in ("OU=Plant", "OU=People,OU=Plant", "OU=Groups,OU=Plant", "OU=Services,OU=Plant"):
    db.create_ou(f"{ou},{base}")
db.newuser("gatekeeper", spec["service_password"], useusernameascn=True, userou="OU=Services,OU=Plant")
for user, (given, sn, pw) in spec["people"].items():
    db.newuser(user, pw, useusernameascn=True, userou="OU=People,OU=Plant", givenname=given, surname=sn,
               mailaddress=f"{user}@plant.example")
for group in spec["groups"]:
    db.newgroup(group, groupou="OU=Groups,OU=Plant")
for group, members in spec["groups"].items():
    db.add_remove_group_members(group, members, add_members_operation=True)
db.disable_account(f"(sAMAccountName={spec['disabled']})")
"""


def _version() -> str:
    return process.run([str(SAMBA), "--version"], check=False).stdout.strip()


def _provision(target: Path) -> None:
    """Provision a domain into ``target`` and add the plant's people and groups (slow: cached)."""
    process.run([str(SAMBA_TOOL), "domain", "provision", "--targetdir", str(target), f"--realm={REALM}",
                 f"--domain={DOMAIN}", "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307",
                 f"--adminpass={ADMIN_PASSWORD}", "--option=interfaces = 127.0.0.2/8",
                 "--option=bind interfaces only = yes"])
    import json

    spec = {"service_password": SERVICE_PASSWORD, "disabled": DISABLED, "groups": GROUPS,
            "people": {u: (g, s, password(u)) for u, (g, s) in PEOPLE.items()}}
    process.run([SYSTEM_PYTHON, "-c", _POPULATE, str(target / "etc" / "smb.conf")], input=json.dumps(spec))


@contextlib.contextmanager
def _cache_locked(mode: int) -> Iterator[None]:
    """The cache folder locked: shared while a session copies a domain out, exclusive while one is
    provisioned or an old one removed (pytest-xdist workers and parallel sessions share the cache)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "lock", "a") as fh:
        fcntl.flock(fh, mode)
        yield


def copy_provisioned(root: Path) -> None:
    """The cached provisioned domain copied to ``root`` (provisioned first if it is not cached yet)."""
    require(str(SAMBA), "samba-ad-dc")
    require(str(SAMBA_TOOL), "samba")
    require("/usr/share/samba/setup", "samba-ad-provision")
    what = repr((_version(), _POPULATE, PEOPLE, GROUPS, DISABLED, REALM, ADMIN_PASSWORD, SERVICE_PASSWORD,
                 [password(u) for u in PEOPLE]))
    cached = CACHE / f"samba-{hashlib.sha256(what.encode()).hexdigest()[:16]}"
    with _cache_locked(fcntl.LOCK_SH):
        if (cached / "etc" / "smb.conf").exists():
            shutil.copytree(cached, root, dirs_exist_ok=True, symlinks=True)
            return
    with _cache_locked(fcntl.LOCK_EX):
        if not (cached / "etc" / "smb.conf").exists():
            for old in CACHE.glob("samba-*"):  # an older Samba or plant, or a provisioning that died
                shutil.rmtree(old, ignore_errors=True)
            work = Path(tempfile.mkdtemp(prefix="samba-new-", dir=CACHE))
            try:
                _provision(work)
                os.rename(work, cached)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        shutil.copytree(cached, root, dirs_exist_ok=True, symlinks=True)


def _tls(folder: Path, ip: str) -> Tls:
    folder.mkdir(mode=0o700)
    return make_tls(folder, ip, ips=[ip], ca_name="Gatekeeper Test AD CA")


def _conf(text: str, old_root: str, root: Path, ip: str, tls: Tls) -> str:
    """The provisioned smb.conf moved to ``root``, listening on ``ip`` only, LDAP/KDC only."""
    out = []
    for line in text.replace(old_root, str(root)).splitlines():
        key = line.strip().split("=", 1)[0].strip().lower()
        if key in ("server services", "interfaces", "log file", "logging", "pid directory", "ncalrpc dir"):
            continue
        out.append(line)
        if line.strip() == "[global]":
            # The pid file and sockets default to /run/samba, one per machine: a second DC refused to start.
            out += [f"\tpid directory = {root}/run", f"\tncalrpc dir = {root}/run/ncalrpc",
                    "\tserver services = ldap, cldap, kdc", f"\tinterfaces = {ip}/8", "\tbind interfaces only = yes",
                    "\tldap server require strong auth = no", f"\tlog file = {root}/log.samba",
                    "\ttls enabled = yes", f"\ttls keyfile = {tls.key}", f"\ttls certfile = {tls.cert}",
                    f"\ttls cafile = {tls.ca}"]
    return "\n".join(out) + "\n"


@dataclass
class Samba:
    root: Path
    ip: str
    tls: Tls
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://{self.ip}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.ip}"

    def config(self, **overrides: object) -> DirectoryConfig:
        """``flavor = "active-directory"`` from the domain root (referrals included), AD's defaults."""
        base = DirectoryConfig(kind="ldap", url=self.url, bind_dn=SERVICE_DN, user_base=BASE, group_base=BASE,
                               bind_password_env="GK_TEST_AD_PW", flavor="active-directory", timeout=5.0)
        return replace(base, **overrides)  # type: ignore[arg-type]

    def policy_block(self) -> str:
        """The ``[directory]`` table for a plant policy."""
        return (f'[directory]\nkind = "ldap"\nflavor = "active-directory"\nurl = "{self.url}"\n'
                f'bind_dn = "{SERVICE_DN}"\nbind_password_env = "GK_TEST_AD_PW"\nuser_base = "{BASE}"\n'
                f'group_base = "{BASE}"\nnested = true\ntimeout = 5.0\n')

    def start(self) -> None:
        self.proc = process.spawn([str(SAMBA), "-i", "-M", "single", "--no-process-group", "-s",
                                   str(self.root / "etc" / "smb.conf")], self.root / "samba.out",
                                  start_new_session=True)

        def ready() -> bool:
            with contextlib.suppress(OSError, LDAPException), socket.create_connection((self.ip, 636), 0.2), \
                    self.admin():
                return True
            return False

        process.wait_ready(self.proc, ready, name="samba", what=f"answer LDAP on {self.ip} within 30 s",
                           tail=self.log_tail, timeout=30, interval=0.05)

    def stop(self) -> None:
        process.stop(self.proc)
        self.proc = None

    def log_tail(self, lines: int = 20) -> str:
        return process.log_tail(self.root, "samba.out", "log.samba", lines=lines)

    # -- changes at runtime, as the domain administrator ---------------------------------------------
    def admin(self) -> ldap3.Connection:
        return ldap3.Connection(ldap3.Server(self.url, get_info=ldap3.NONE, connect_timeout=2), ADMIN_DN,
                                ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True, receive_timeout=5)

    @staticmethod
    def user_dn(user: str) -> str:
        return f"CN={user},OU=People,{PLANT_OU}"

    @staticmethod
    def group_dn(group: str) -> str:
        return f"CN={group},OU=Groups,{PLANT_OU}"

    def set_member(self, group: str, member_dn: str, present: bool) -> None:
        with self.admin() as conn:
            op = ldap3.MODIFY_ADD if present else ldap3.MODIFY_DELETE
            conn.modify(self.group_dn(group), {"member": [(op, [member_dn])]})

    def set_enabled(self, user: str, enabled: bool) -> None:
        with self.admin() as conn:
            flags = "512" if enabled else "514"  # NORMAL_ACCOUNT, plus ACCOUNTDISABLE
            conn.modify(self.user_dn(user), {"userAccountControl": [(ldap3.MODIFY_REPLACE, [flags])]})


def _free_ip() -> str:
    """A random loopback address nobody listens on at 389 (LDAP's port is fixed in Samba)."""
    rng = random.SystemRandom()  # not the global one: two workers may share its state
    for _ in range(50):
        ip = f"127.{rng.randint(16, 254)}.{rng.randint(0, 254)}.{rng.randint(2, 254)}"
        with socket.socket() as s:
            try:
                s.bind((ip, 389))
            except OSError:
                continue
            return ip
    raise RuntimeError("no free loopback address for samba")


@contextlib.contextmanager
def running_samba() -> Iterator[Samba]:
    root = Path(tempfile.mkdtemp(prefix="gk-samba-"))
    try:
        copy_provisioned(root)
        ip = _free_ip()
        tls = _tls(root / "gk-tls", ip)
        conf = root / "etc" / "smb.conf"
        text = conf.read_text()
        # Provisioned into a temp dir then renamed: the paths in smb.conf are that dir's.
        old_root = next(ln.split("=", 1)[1].strip() for ln in text.splitlines()
                        if ln.strip().startswith("private dir"))[: -len("/private")]
        conf.write_text(_conf(text, old_root, root, ip, tls))
        (root / "run").mkdir(exist_ok=True)
        server = Samba(root=root, ip=ip, tls=tls)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
