"""The Active Directory flavor, OFFLINE with ldap3's MOCK_SYNC strategy, for what a real server cannot
show: the queries we send (one in-chain query, escaping), an unreadable userAccountControl, computer
accounts claiming a person's name, membership cycles. Logins, nesting, disabled accounts, TLS and the
whole flow run against a real Samba AD DC in tests/directory/test_samba_ad.py.

What this covers is our query building (the filters we send, escaping included) and result handling
(sAMAccountName/UPN logins, userAccountControl, paths rebuilt from memberOf). The mock cannot
evaluate extensible matches (it even garbles them when re-reading the request), so the ``sent``
fixture teaches it LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941) the way AD documents it;
whether a real AD answers the same way is not tested here.
"""

from __future__ import annotations

from collections.abc import Iterator

import ldap3
import pytest
from ldap3.operation import search as search_op
from ldap3.operation.search import MATCH_EXTENSIBLE
from ldap3.strategy.mockBase import MockBaseStrategy
from ldap3.utils.conv import escape_filter_chars, unescape_filter_chars

from gatekeeper.config import DirectoryConfig
from gatekeeper.directory import ldap_ad
from gatekeeper.directory.ldap import LdapDirectory
from gatekeeper.errors import AuthError

BASE = "DC=corp,DC=example"
USERS, GROUPS = f"OU=Staff,{BASE}", f"OU=Groups,{BASE}"
SERVICE_DN, SERVICE_PW = f"CN=svc-gatekeeper,OU=Service,{BASE}", "svc-Secret-1"
GENERIC = r"^invalid username or password$"
NORMAL, DISABLED, WORKSTATION = 512, 514, 4096  # userAccountControl values

# sAMAccountName -> (CN, userAccountControl or None when unreadable)
PEOPLE = {
    "alice": ("Alice Engineer", NORMAL),
    "bob": ("Bob Controller", NORMAL),
    "carol": ("Carol Lead", NORMAL),
    "dan": ("Dan Leaver", DISABLED),
    "eve": ("Eve Unreadable", None),
    "star": ("Star (*) User", NORMAL),  # parentheses and a star in the DN
}
# group CN -> members (sAMAccountNames or group CNs)
GROUP_MEMBERS = {
    "ot-engineers": ["alice", "ot-engineering-leads"],
    "ot-engineering-leads": ["carol"],
    "engineers": ["alice", "star"],
    "ot-staff": ["engineers"],
    "finance-controllers": ["bob", "dan", "eve"],
    "loop-a": ["bob", "loop-b"],
    "loop-b": ["loop-a"],
}


def user_dn(sam: str) -> str:
    return f"CN={PEOPLE[sam][0]},{USERS}"


def group_dn(cn: str) -> str:
    return f"CN={cn},{GROUPS}"


def member_dn(name: str) -> str:
    return user_dn(name) if name in PEOPLE else group_dn(name)


def in_chain(strategy: MockBaseStrategy, attr: str, value: str, candidate: str) -> bool:
    """LDAP_MATCHING_RULE_IN_CHAIN: ``member`` walks down from the candidate group, ``memberOf``
    walks up from the candidate, both until ``value`` is met (visited set: AD allows cycles)."""
    dit = strategy.connection.server.dit
    links = "member" if attr.lower() == "member" else "memberOf"
    target, seen, todo = value.lower(), set(), [candidate]
    while todo:
        dn = todo.pop()
        for raw in dit.get(dn, {}).get(links, []):
            nxt = raw.decode() if isinstance(raw, bytes) else str(raw)
            if nxt.lower() == target:
                return True
            if nxt.lower() not in seen:
                seen.add(nxt.lower())
                todo.append(next((k for k in dit if k.lower() == nxt.lower()), nxt))
    return False


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Teach the mock the in-chain rule and record every search filter we send."""
    filters: list[str] = []
    original_eval = MockBaseStrategy.evaluate_filter_node
    original_search = ldap3.Connection.search

    def evaluate(self: MockBaseStrategy, node, candidates):  # type: ignore[no-untyped-def]
        if node.tag == MATCH_EXTENSIBLE and node.assertion.get("matchingRule") == ldap_ad.IN_CHAIN:
            value = unescape_filter_chars(node.assertion["value"]).decode()
            node.matched = {c for c in candidates if in_chain(self, node.assertion["attr"], value, c)}
            node.unmatched = set(candidates) - node.matched
            return node.matched
        return original_eval(self, node, candidates)

    def search(self, search_base, search_filter, *args, **kwargs):  # type: ignore[no-untyped-def]
        filters.append(search_filter)
        return original_search(self, search_base, search_filter, *args, **kwargs)

    def extensible_to_string(mra):  # type: ignore[no-untyped-def]
        dn = ":dn" if bool(mra["dnAttributes"]) else ""
        return f"{mra['type']}{dn}:{mra['matchingRule']}:={escape_filter_chars(str(mra['matchValue']))}"

    monkeypatch.setattr(search_op, "matching_rule_assertion_to_string", extensible_to_string)
    monkeypatch.setattr(MockBaseStrategy, "evaluate_filter_node", evaluate)
    monkeypatch.setattr(ldap3.Connection, "search", search)
    yield filters


@pytest.fixture
def server() -> ldap3.Server:
    """An offline AD (2012 R2 schema) with the corp directory; memberOf kept as AD keeps it."""
    srv = ldap3.Server("dc1.corp.example", get_info=ldap3.OFFLINE_AD_2012_R2)
    conn = ldap3.Connection(srv, client_strategy=ldap3.MOCK_SYNC)
    member_of: dict[str, list[str]] = {}
    for cn, members in GROUP_MEMBERS.items():
        for m in members:
            member_of.setdefault(member_dn(m), []).append(group_dn(cn))
    conn.strategy.add_entry(SERVICE_DN, {"objectClass": ["top", "person", "organizationalPerson", "user"],
                                         "sAMAccountName": "svc-gatekeeper", "userPassword": SERVICE_PW,
                                         "userAccountControl": NORMAL})
    for sam, (cn, uac) in PEOPLE.items():
        attrs: dict[str, object] = {
            "objectClass": ["top", "person", "organizationalPerson", "user"], "sAMAccountName": sam,
            "userPrincipalName": f"{sam}@corp.example", "mail": f"{sam.capitalize()}@Corp.Example",
            "displayName": cn, "userPassword": f"{sam}-Secret-1"}
        if uac is not None:
            attrs["userAccountControl"] = uac
        if member_of.get(user_dn(sam)):
            attrs["memberOf"] = member_of[user_dn(sam)]
        conn.strategy.add_entry(user_dn(sam), attrs)
    conn.strategy.add_entry(f"CN=PLC01,OU=Computers,{BASE}", {
        "objectClass": ["top", "person", "organizationalPerson", "user", "computer"],
        "sAMAccountName": "alice", "userAccountControl": WORKSTATION, "userPassword": "alice-Secret-1"})
    for cn, members in GROUP_MEMBERS.items():
        attrs = {"objectClass": ["top", "group"], "cn": cn, "member": [member_dn(m) for m in members]}
        if member_of.get(group_dn(cn)):
            attrs["memberOf"] = member_of[group_dn(cn)]
        conn.strategy.add_entry(group_dn(cn), attrs)
    return srv


@pytest.fixture
def ad(server: ldap3.Server, sent: list[str]) -> Iterator[LdapDirectory]:
    config = DirectoryConfig(kind="ldap", url="ldaps://dc1.corp.example", bind_dn=SERVICE_DN, user_base=BASE,
                             group_base=BASE, flavor="active-directory")
    directory = LdapDirectory(config, password=SERVICE_PW, server=server, client_strategy=ldap3.MOCK_SYNC)
    yield directory
    directory.close()


def groups(directory: LdapDirectory, username: str) -> dict[str, tuple[str, ...]]:
    return {m.group: m.via for m in directory.memberships(username)}


def test_ad_defaults_replace_the_openldap_ones_only_when_unchanged() -> None:
    assert ldap_ad.settings("(uid={username})", {"username": "uid", "email": "mail", "name": "cn"}) == (
        ldap_ad.USER_FILTER, ldap_ad.USER_ATTRS)
    own = "(&(objectClass=user)(employeeID={username}))"
    assert ldap_ad.settings(own, {"username": "employeeID", "email": "mail", "name": "cn"}) == (
        own, {"username": "employeeID", "email": "mail", "name": "displayName"})


@pytest.mark.parametrize(("login", "secret"), [
    ("eve", "eve-Secret-1"),  # userAccountControl unreadable: cannot tell, so refused
])
def test_login_failures_are_generic(ad: LdapDirectory, login: str, secret: str) -> None:
    with pytest.raises(AuthError, match=GENERIC):
        ad.authenticate(login, secret)


def test_computer_accounts_are_not_people(ad: LdapDirectory, sent: list[str]) -> None:
    """PLC01 also claims sAMAccountName=alice; the person filter keeps the match unique."""
    assert ad.get_user("alice") is not None
    assert "(!(objectClass=computer))" in sent[-1]


def test_disabled_accounts_are_unknown_for_sod(ad: LdapDirectory) -> None:
    assert ad.get_user("dan") is None and ad.memberships("dan") == []
    assert ad.find_by_email("dan@corp.example") is None
    assert [u.username for u, _ in ad.group_members("finance-controllers")] == ["bob"]


def test_nesting_is_one_in_chain_query_with_paths_from_member_of(ad: LdapDirectory, sent: list[str]) -> None:
    assert groups(ad, "carol") == {"ot-engineering-leads": ("ot-engineering-leads",),
                                   "ot-engineers": ("ot-engineering-leads", "ot-engineers")}
    assert sent[-1] == f"(&(objectClass=group)(member:{ldap_ad.IN_CHAIN}:=CN=Carol Lead,{USERS}))"
    assert len(sent) == 2  # the user, then all groups at once


def test_cycles_terminate(ad: LdapDirectory) -> None:
    assert groups(ad, "bob") == {"finance-controllers": ("finance-controllers",), "loop-a": ("loop-a",),
                                 "loop-b": ("loop-a", "loop-b")}


def test_a_dn_with_parentheses_and_star_is_escaped(ad: LdapDirectory, sent: list[str]) -> None:
    assert groups(ad, "star") == {"engineers": ("engineers",), "ot-staff": ("engineers", "ot-staff")}
    assert "CN=Star \\28\\2a\\29 User," in sent[-1]


@pytest.mark.parametrize("name", ["*", "a*", "*)(sAMAccountName=*", "alice)(|(x=*", "alice\x00", "\\"])
def test_injection_attempts_match_nobody(ad: LdapDirectory, sent: list[str], name: str) -> None:
    assert ad.get_user(name) is None
    assert "*" not in sent[-1]  # escaped as \2a: no wildcard reached the server
