"""The Active Directory flavor of the LDAP directory: how AD is asked and how its answers are read.

AD differs from OpenLDAP in three ways that matter for SoD (SPEC §3, issue 6):

- people log in with ``sAMAccountName`` or ``userPrincipalName``; the username Gatekeeper keeps is
  the ``sAMAccountName`` either way, so a pusher and a signer compare equal;
- the server resolves nesting itself with LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941),
  one query instead of a walk; the path ("via") is rebuilt from the groups' ``memberOf``;
- disabled accounts (``userAccountControl`` bit 2, ACCOUNTDISABLE) keep their group memberships, so
  they are refused at login and treated as unknown for SoD.

Tested against a real Samba AD domain controller (tests/directory/test_samba_ad.py: logins, in-chain
nesting, disabled accounts, TLS, referrals from the domain root skipped); the queries we send are
pinned with ldap3's offline mock (tests/directory/test_ldap_ad.py).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from ldap3.utils.conv import escape_filter_chars

from gatekeeper.directory.ldap_entry import Entry, Search
from gatekeeper.policy.people import Membership, User

_ToUser = Callable[[Entry], User | None]
Via = tuple[str, ...]

log = logging.getLogger(__name__)

IN_CHAIN = "1.2.840.113556.1.4.1941"  # LDAP_MATCHING_RULE_IN_CHAIN
ACCOUNTDISABLE = 0x2  # userAccountControl flag
PERSON = "(objectClass=user)(!(objectClass=computer))"  # computer accounts are users too in AD
GROUP_FILTER = "(objectClass=group)"
USER_FILTER = f"(&{PERSON}(|(sAMAccountName={{username}})(userPrincipalName={{username}})))"
USER_ATTRS = {"username": "sAMAccountName", "email": "mail", "name": "displayName"}
EXTRA_USER_ATTRS = ("userAccountControl", "memberOf")

# The OpenLDAP defaults of DirectoryConfig; when left unchanged with flavor = "active-directory",
# the AD ones above are meant.
_OPENLDAP_FILTER = "(uid={username})"
_OPENLDAP_ATTRS = {"username": "uid", "email": "mail", "name": "cn"}


def settings(user_filter: str, user_attrs: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The user filter and attributes to use: AD's wherever the OpenLDAP default was left in place
    (config merges a partial ``user_attrs`` over those defaults, so this goes key by key)."""
    flt = USER_FILTER if user_filter == _OPENLDAP_FILTER else user_filter
    attrs = {k: USER_ATTRS[k] if v == _OPENLDAP_ATTRS.get(k) else v for k, v in user_attrs.items()}
    return flt, attrs


def is_disabled(entry: Entry) -> bool:
    """ACCOUNTDISABLE set, or userAccountControl unreadable (fail closed: we cannot tell)."""
    raw = entry.first("userAccountControl")
    try:
        return bool(int(raw or "") & ACCOUNTDISABLE)
    except ValueError:
        log.warning("userAccountControl of %s is not readable; treating the account as disabled", entry.dn)
        return True


def email_filter(email_attr: str, email: str) -> str:
    return f"(&{PERSON}({email_attr}={escape_filter_chars(email)}))"


def group_filter(name_attr: str, name: str) -> str:
    return f"(&{GROUP_FILTER}({name_attr}={escape_filter_chars(name)}))"


def groups_of_filter(dn: str) -> str:
    """Every group ``dn`` is in, at any depth, resolved by the server."""
    return f"(&{GROUP_FILTER}(member:{IN_CHAIN}:={escape_filter_chars(dn)}))"


def users_in_filter(group_dn: str) -> str:
    """Every user in ``group_dn``, at any depth."""
    return f"(&{PERSON}(memberOf:{IN_CHAIN}:={escape_filter_chars(group_dn)}))"


def subgroups_filter(group_dn: str) -> str:
    return f"(&{GROUP_FILTER}(memberOf:{IN_CHAIN}:={escape_filter_chars(group_dn)}))"


def _paths(starts: Sequence[Entry], groups: Mapping[str, Entry], name_attr: str) -> dict[str, Via]:
    """Shortest ``via`` to every group reachable upwards from ``starts`` within ``groups`` (by key).

    Breadth-first over each group's ``memberOf``; the visited set stops cycles, which AD allows.
    """
    found: dict[str, Via] = {}
    queue: deque[tuple[Entry, Via]] = deque((g, (g.name(name_attr),)) for g in starts)
    while queue:
        group, via = queue.popleft()
        if group.key in found:
            continue
        found[group.key] = via
        for parent_dn in group.values("memberOf"):
            parent = groups.get(parent_dn.lower())
            if parent is not None and parent.key not in found:
                queue.append((parent, (*via, parent.name(name_attr))))
    return found


def memberships(search: Search, group_base: str, name_attr: str, user: Entry) -> list[Membership]:
    """All groups of ``user`` in one in-chain query; paths from the groups' ``memberOf``."""
    groups = {g.key: g for g in search(group_base, groups_of_filter(user.dn), [name_attr, "memberOf"])}
    direct = [groups[k] for k in (dn.lower() for dn in user.values("memberOf")) if k in groups]
    paths = _paths(direct, groups, name_attr)
    out = []
    for key, group in groups.items():
        # A group the server says the user is in but whose path we cannot rebuild still counts:
        # membership comes from the server's answer, the path is only an explanation.
        via = paths.get(key, (group.name(name_attr),))
        out.append(Membership(group=group.name(name_attr), via=via, dn=group.dn))
    return sorted(out, key=lambda m: (m.group, m.via))


def group_members(search: Search, *, group_base: str, user_base: str, name_attr: str, group: str,
                  user_attrs: Sequence[str], to_user: _ToUser) -> list[tuple[User, Membership]]:
    """Every enabled user in ``group`` at any depth (access review), each with its path."""
    return [(user, m) for user, m, disabled in group_accounts(
        search, group_base=group_base, user_base=user_base, name_attr=name_attr, group=group,
        user_attrs=user_attrs, to_user=to_user) if not disabled]


def group_accounts(search: Search, *, group_base: str, user_base: str, name_attr: str, group: str,
                   user_attrs: Sequence[str], to_user: _ToUser) -> list[tuple[User, Membership, bool]]:
    """Every account in ``group`` at any depth, disabled ones flagged ``True`` (they keep their
    groups in AD): the server resolves the chain (IN_CHAIN), the path comes from ``memberOf``."""
    out: dict[str, tuple[User, Membership, bool]] = {}
    for target in search(group_base, group_filter(name_attr, group), [name_attr]):
        tree = {target.key: target}
        subgroups = search(group_base, subgroups_filter(target.dn), [name_attr, "memberOf"])
        tree.update((g.key, g) for g in subgroups)
        for entry in search(user_base, users_in_filter(target.dn), [*user_attrs, *EXTRA_USER_ATTRS]):
            user = to_user(entry)
            if user is None or entry.key in out:
                continue
            direct = [tree[k] for k in (dn.lower() for dn in entry.values("memberOf")) if k in tree]
            via = _paths(direct, tree, name_attr).get(target.key, (target.name(name_attr),))
            out[entry.key] = (user, Membership(group=target.name(name_attr), via=via, dn=target.dn),
                              is_disabled(entry))
    return sorted(out.values(), key=lambda um: um[0].username)
