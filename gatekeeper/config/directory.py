"""``[directory]`` (SPEC §4): the file directory or LDAP / Active Directory, and how to reach it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper.config.toml import Reader, env_name, resolve_path


@dataclass(frozen=True)
class DirectoryConfig:
    kind: str = "file"
    path: Path | None = None
    url: str = ""
    bind_dn: str = ""
    bind_password_env: str = ""
    user_base: str = ""
    user_filter: str = "(uid={username})"
    group_base: str = ""
    group_member_attr: str = "member"
    nested: bool = True
    user_attrs: dict[str, str] = field(
        default_factory=lambda: {"username": "uid", "email": "mail", "name": "cn"})
    group_name_attr: str = "cn"
    flavor: str = "openldap"
    start_tls: bool = False
    ca_file: Path | None = None
    timeout: float = 5.0



def read_directory(r: Reader, base: Path) -> DirectoryConfig:
    d = DirectoryConfig()
    kind = r.get("kind", str, "file")
    if kind not in ("file", "ldap"):
        raise r.fail("kind", 'must be "file" or "ldap"')
    path = r.get("path", str, "directory.toml" if kind == "file" else None)
    user_attrs = r.get("user_attrs", dict, None)
    if user_attrs is not None:
        unknown = set(user_attrs) - {"username", "email", "name"}
        if unknown or not all(isinstance(v, str) for v in user_attrs.values()):
            raise r.fail("user_attrs", "takes string values for username, email and name only")
        user_attrs = {**d.user_attrs, **user_attrs}
    flavor = r.get("flavor", str, d.flavor)
    if flavor not in ("openldap", "active-directory"):
        raise r.fail("flavor", 'must be "openldap" or "active-directory"')
    ca_file = r.get("ca_file", str, None)
    dc = DirectoryConfig(
        kind=kind,
        path=resolve_path(base, path) if path else None,
        url=r.get("url", str, d.url),
        bind_dn=r.get("bind_dn", str, d.bind_dn),
        bind_password_env=env_name(r, "bind_password_env", "GATEKEEPER_LDAP_PASSWORD"),
        user_base=r.get("user_base", str, d.user_base),
        user_filter=r.get("user_filter", str, d.user_filter),
        group_base=r.get("group_base", str, d.group_base),
        group_member_attr=r.get("group_member_attr", str, d.group_member_attr),
        nested=r.get("nested", bool, d.nested),
        user_attrs=user_attrs or d.user_attrs,
        group_name_attr=r.get("group_name_attr", str, d.group_name_attr),
        flavor=flavor,
        start_tls=r.get("start_tls", bool, d.start_tls),
        ca_file=resolve_path(base, ca_file) if ca_file else None,
        timeout=float(r.get("timeout", (int, float), d.timeout)),
    )
    if kind == "ldap":
        for key in ("url", "user_base", "group_base"):
            if not getattr(dc, key):
                raise r.fail(key, 'is required when kind = "ldap"')
        if not dc.url.startswith(("ldap://", "ldaps://")):
            raise r.fail("url", "must start with ldap:// or ldaps://")
        if "{username}" not in dc.user_filter:
            raise r.fail("user_filter", "must contain {username}")
    r.finish()
    return dc
