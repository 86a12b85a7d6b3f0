"""A throwaway real OpenLDAP ``slapd`` with a small plant directory (STYLE: tests meet real services).

``running_slapd()`` generates a cn=config (``slapadd -n0``: mdb, suffix dc=plant,dc=example, the
memberof and ppolicy overlays when their modules exist), loads the plant LDIF with ``slapadd``,
starts ``/usr/sbin/slapd`` on free loopback ports in a temp dir and stops it afterwards (SIGTERM).
slapadd bypasses overlays, so memberOf is only kept for changes made while slapd runs. With
``tls=True`` a test CA and a server certificate are made at runtime (``cryptography``), so StartTLS
on ``ldap://`` and ``ldaps://`` on a second port can be tested against a CA we control.
Missing slapd fails loudly naming the apt packages: LDAP tests are never skipped.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import ldap3
import pytest

from gatekeeper.config import DirectoryConfig
from tests.support import process
from tests.support.process import Tls, free_port, make_tls

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMA_DIR = Path("/etc/ldap/schema")
SUFFIX = "dc=plant,dc=example"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-Secret-1"
SERVICE_DN = f"cn=gatekeeper,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-Secret-1"
# The user whose cn (and so DN) holds "*" and ",", and a decoy whose DN a "*" wildcard would match.
WILDCARD_DN = f"cn=Mallory *\\, Wildcard,{PEOPLE}"
DECOY_DN = f"cn=Mallory Evil\\, Wildcard,{PEOPLE}"
POLICY_DN = f"cn=default,ou=policies,{SUFFIX}"
LOCKED_UID = "grace"  # administratively locked via ppolicy's pwdAccountLockedTime


def password(uid: str) -> str:
    """Each test user's password (never a real secret)."""
    return f"{uid}-Sécret-1"  # non-ASCII: binds must send UTF-8


def _ssha(secret: str) -> str:
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(secret.encode() + salt).digest() + salt).decode()


# (rdn, uid, cn, mail)
_PEOPLE = [
    ("uid=alice", "alice", "Alice Engineer", "alice@plant.example"),
    ("uid=bob", "bob", "Bob Controller", "bob@plant.example"),
    ("uid=carol", "carol", "Carol Lead", "carol@plant.example"),
    ("uid=dave", "dave", "Dave Auditor", "dave@plant.example"),
    ("uid=erin", "erin", "Erin On-Call", "erin@plant.example"),
    ("uid=frank", "frank", "Frank Admin", "frank@plant.example"),
    ("uid=grace", "grace", "Grace Leaver", "grace@plant.example"),
    ("cn=Mallory *\\, Wildcard", "mallory", "Mallory *, Wildcard", "mallory@plant.example"),
    ("cn=Mallory Evil\\, Wildcard", "mallory2", "Mallory Evil, Wildcard", "mallory2@plant.example"),
]


def _u(uid: str) -> str:
    return next(f"{rdn},{PEOPLE}" for rdn, u, _, _ in _PEOPLE if u == uid)


def _g(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


# groupOfNames: name -> member DNs (users and nested groups)
_GROUPS_OF_NAMES = {
    "ot-engineers": [_u("alice"), _u("erin"), _g("ot-engineering-leads")],
    "ot-engineering-leads": [_u("carol")],
    "engineers": [_u("alice"), WILDCARD_DN],
    "ot-staff": [_g("engineers"), _u("erin")],
    "finance-controllers": [_u("bob")],
    "auditors": [_u("dave")],
    "ot-emergency": [_u("erin")],
    "gatekeeper-admins": [_u("frank"), DECOY_DN],
    "cycle-a": [_u("bob"), _g("cycle-b")],
    "cycle-b": [_g("cycle-a")],
    "leavers": [_u("grace")],
}
_UNIQUE_GROUPS = {"plant-operators": [_u("alice"), _u("bob")]}  # groupOfUniqueNames
_POSIX_GROUPS = {"scada-admins": (5000, ["carol", "erin"])}  # posixGroup with memberUid


def plant_ldif(ppolicy: bool) -> str:
    """The plant directory: people under ou=people, groups of three shapes under ou=groups."""
    out = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: plant\no: Plant\n"]
    for ou in ("people", "groups", "services", "policies"):
        out.append(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n")
    if ppolicy:  # lockout on, but no failure counting: only the administrative lock of LOCKED_UID
        out.append(f"dn: {POLICY_DN}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default\n"
                   "pwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 0\n")
    out.append(f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
               f"cn: gatekeeper\nuserPassword: {_ssha(SERVICE_PASSWORD)}\n")
    for rdn, uid, cn, mail in _PEOPLE:
        entry = (f"dn: {rdn},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\n"
                 f"sn: {cn.split()[-1]}\nmail: {mail}\nuserPassword: {_ssha(password(uid))}\n")
        if uid == LOCKED_UID and ppolicy:
            entry += "pwdAccountLockedTime: 000001010000Z\n"
        out.append(entry)
    for cn, members in _GROUPS_OF_NAMES.items():
        out.append(f"dn: {_g(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n"
                   + "".join(f"member: {m}\n" for m in members))
    for cn, members in _UNIQUE_GROUPS.items():
        out.append(f"dn: {_g(cn)}\nobjectClass: groupOfUniqueNames\ncn: {cn}\n"
                   + "".join(f"uniqueMember: {m}\n" for m in members))
    for cn, (gid, uids) in _POSIX_GROUPS.items():
        out.append(f"dn: {_g(cn)}\nobjectClass: posixGroup\ncn: {cn}\ngidNumber: {gid}\n"
                   + "".join(f"memberUid: {u}\n" for u in uids))
    return "\n".join(out)


def _config_ldif(root: Path, modules: list[str], tls: Tls | None, unlimited: bool = False) -> str:
    tls_attrs = ""
    if tls:
        tls_attrs = (f"olcTLSCACertificateFile: {tls.ca}\nolcTLSCertificateFile: {tls.cert}\n"
                     f"olcTLSCertificateKeyFile: {tls.key}\n")
    overlays = ""
    if "memberof" in modules:
        overlays += ("\ndn: olcOverlay=memberof,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\n"
                     "objectClass: olcMemberOf\nolcOverlay: memberof\n")
    if "ppolicy" in modules:
        overlays += ("\ndn: olcOverlay=ppolicy,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\n"
                     f"objectClass: olcPPolicyConfig\nolcOverlay: ppolicy\nolcPPolicyDefault: {POLICY_DN}\n")
    schemas = "".join(f"include: file://{SCHEMA_DIR / s}.ldif\n"
                      for s in ("core", "cosine", "inetorgperson", "nis"))
    loads = "".join(f"olcModuleLoad: {m}\n" for m in modules)
    limits = f'olcLimits: dn.exact="{SERVICE_DN}" size=unlimited\n' if unlimited else ""
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root / "slapd.pid"}
olcArgsFile: {root / "slapd.args"}
{tls_attrs}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_DIR}
{loads}
dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: 500

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ROOT_DN}
olcRootPW: {ROOT_PASSWORD}
olcDbDirectory: {root / "data"}
olcDbMaxSize: 33554432
olcDbIndex: objectClass eq
olcDbIndex: uid,mail,cn eq
olcDbIndex: member,uniqueMember,memberUid eq
olcAccess: {{0}}to attrs=userPassword by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact="{SERVICE_DN}" read by self read by * none
{limits}{overlays}"""


def _require_slapd() -> None:
    missing = [str(p) for p in (SLAPD, SLAPADD) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install the apt packages slapd and ldap-utils "
                    "(apt-get install -y slapd ldap-utils)", pytrace=False)


@dataclass
class Slapd:
    """A running test slapd; ``stop()``/``start()`` simulate an outage mid-test."""

    root: Path
    port: int
    ldaps_port: int | None
    tls: Tls | None
    modules: list[str]
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        if self.ldaps_port is None:
            raise RuntimeError("slapd was started without tls=True")
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def memberof(self) -> bool:
        return "memberof" in self.modules

    @property
    def ppolicy(self) -> bool:
        return "ppolicy" in self.modules

    def user_dn(self, uid: str) -> str:
        return _u(uid)

    def group_dn(self, cn: str) -> str:
        return _g(cn)

    def config(self, **overrides: object) -> DirectoryConfig:
        """A ``DirectoryConfig`` for this server (the service password is passed separately)."""
        base = DirectoryConfig(kind="ldap", url=self.url, bind_dn=SERVICE_DN, user_base=PEOPLE,
                               group_base=GROUPS, bind_password_env="GK_TEST_LDAP_PW", timeout=3.0)
        return replace(base, **overrides)  # type: ignore[arg-type]

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        urls = self.url + "/" + (f" ldaps://127.0.0.1:{self.ldaps_port}/" if self.ldaps_port else "")
        self.proc = process.spawn([str(SLAPD), "-h", urls, "-F", str(self.root / "slapd.d"), "-d", "0"],
                                  self.root / "slapd.log")
        process.wait_ready(self.proc, lambda: process.port_open("127.0.0.1", self.port), name="slapd",
                           what=f"listen on {self.port} within 10 s", tail=self.log_tail)

    def stop(self) -> None:
        process.stop(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        return process.log_tail(self.root, "slapd.log", lines=lines)

    # -- changes at runtime (as the rootdn, so the directory changes under a running Gatekeeper) ----
    def admin(self) -> ldap3.Connection:
        return ldap3.Connection(ldap3.Server(self.url, get_info=ldap3.NONE), ROOT_DN, ROOT_PASSWORD,
                                auto_bind=True, raise_exceptions=True)

    def add_member(self, group: str, member_dn: str, attr: str = "member") -> None:
        with self.admin() as conn:
            conn.modify(_g(group), {attr: [(ldap3.MODIFY_ADD, [member_dn])]})

    def remove_member(self, group: str, member_dn: str, attr: str = "member") -> None:
        with self.admin() as conn:
            conn.modify(_g(group), {attr: [(ldap3.MODIFY_DELETE, [member_dn])]})


@contextlib.contextmanager
def running_slapd(*, tls: bool = False, keep: bool = False, extra_ldif: str = "") -> Iterator[Slapd]:
    """Start a throwaway slapd with the plant directory; stop it and remove its files afterwards.

    ``extra_ldif`` adds entries (benchmarks: thousands of people); the service account then reads
    without a size limit, as an administrator sets it up for a directory that size (docs/access-review.md).
    """
    _require_slapd()
    root = Path(tempfile.mkdtemp(prefix="gk-slapd-"))
    try:
        (root / "slapd.d").mkdir()
        (root / "data").mkdir()
        modules = ["back_mdb"] + [m for m in ("memberof", "ppolicy") if (MODULE_DIR / f"{m}.so").exists()]
        tls_files = make_tls(root, "localhost", dns=["localhost"], ips=["127.0.0.1"]) if tls else None
        (root / "config.ldif").write_text(_config_ldif(root, modules, tls_files, unlimited=bool(extra_ldif)))
        (root / "plant.ldif").write_text(plant_ldif(ppolicy="ppolicy" in modules) + "\n" + extra_ldif)
        process.run([str(SLAPADD), "-n0", "-F", str(root / "slapd.d"), "-l", str(root / "config.ldif")])
        process.run([str(SLAPADD), "-q", "-b", SUFFIX, "-F", str(root / "slapd.d"), "-l", str(root / "plant.ldif")])

        def start() -> Slapd:
            server = Slapd(root=root, port=free_port(), ldaps_port=free_port() if tls else None,
                           tls=tls_files, modules=modules)
            server.start()
            return server

        server = process.start_retrying(start)
        try:
            yield server
        finally:
            server.stop()
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
