"""LdapDirectory against a real OpenLDAP slapd (tests/support/slapd.py): logins, nested groups,
injection, fresh lookups, outages and TLS with a test CA."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gatekeeper.directory.ldap import LdapDirectory
from gatekeeper.errors import AuthError, ConfigError, DirectoryUnavailable
from gatekeeper.policy.people import Membership
from tests.support.slapd import (
    DECOY_DN,
    LOCKED_UID,
    SERVICE_PASSWORD,
    WILDCARD_DN,
    Slapd,
    free_port,
    password,
)

pytestmark = pytest.mark.ldap

GENERIC = r"^invalid username or password$"
ALL_SHAPES = "member,uniqueMember,memberUid"


@pytest.fixture
def make(slapd: Slapd) -> Iterator[object]:
    """Build directories with config overrides; all are closed afterwards."""
    made: list[LdapDirectory] = []

    def build(password: str = SERVICE_PASSWORD, **overrides: object) -> LdapDirectory:
        made.append(LdapDirectory(slapd.config(**overrides), password=password))
        return made[-1]

    yield build
    for d in made:
        d.close()


def groups(directory: LdapDirectory, username: str) -> dict[str, tuple[str, ...]]:
    return {m.group: m.via for m in directory.memberships(username)}


# -- logins ---------------------------------------------------------------------------------------------
def test_login_returns_the_directory_user(ldap_directory: LdapDirectory, slapd: Slapd) -> None:
    user = ldap_directory.authenticate("alice", password("alice"))
    assert (user.username, user.name, user.email) == ("alice", "Alice Engineer", "alice@plant.example")
    assert user.dn == slapd.user_dn("alice")


def test_login_name_is_matched_like_ldap_but_returned_canonical(ldap_directory: LdapDirectory) -> None:
    assert ldap_directory.authenticate("ALICE", password("alice")).username == "alice"


@pytest.mark.parametrize("spelling", ["carol", "Carol", "ＣＡＲＯＬ", "𝐜𝐚𝐫𝐨𝐥", " carol"])
def test_canonical_is_the_entrys_own_uid(ldap_directory: LdapDirectory, spelling: str) -> None:
    """slapd matches uid with case and compatibility folding; the spelling kept is the entry's."""
    assert ldap_directory.canonical(spelling) == "carol"


@pytest.mark.parametrize("spelling", ["carоl", "ca rol", "carol*", "nobody"])
def test_canonical_of_unknown_names_is_none(ldap_directory: LdapDirectory, spelling: str) -> None:
    assert ldap_directory.canonical(spelling) is None


@pytest.mark.parametrize(("username", "secret"), [
    ("alice", "wrong-password"),
    ("nobody", "whatever-1"),
    (LOCKED_UID, password(LOCKED_UID)),  # ppolicy administrative lock: "disabled" on OpenLDAP
    ("alice", ""),  # an unauthenticated bind would "succeed"
    ("", password("alice")),
    ("*", password("alice")),
    ("alice*", password("alice")),
    ("x" * 300, password("alice")),
    ("alice", "bad\x00pass"),  # SASLprep would reject these: still a login failure, not an outage
    ("alice", "bell\u0007"),
])
def test_every_login_failure_gives_one_generic_message(ldap_directory: LdapDirectory, username: str,
                                                        secret: str) -> None:
    with pytest.raises(AuthError, match=GENERIC):
        ldap_directory.authenticate(username, secret)


def test_empty_password_is_refused_before_any_bind(make) -> None:  # type: ignore[no-untyped-def]
    down = make(url=f"ldap://127.0.0.1:{free_port()}")  # nothing listens: any bind would fail differently
    with pytest.raises(AuthError, match=GENERIC):
        down.authenticate("alice", "")


# -- injection -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["*", "a*", "*)(uid=*", "alice)(|(uid=*", "alice)(uid=bob", "(", ")", "\\",
                                  "alice\\", "al\\2aice", "alice\x00", "\x00", "*\x00"])
def test_filter_characters_in_a_username_cannot_widen_the_search(ldap_directory: LdapDirectory,
                                                                   name: str) -> None:
    assert ldap_directory.get_user(name) is None
    assert ldap_directory.memberships(name) == []
    assert ldap_directory.group_exists(name) is False
    with pytest.raises(AuthError, match=GENERIC):
        ldap_directory.authenticate(name, password("alice"))


@pytest.mark.parametrize("email", ["*", "*@plant.example", "alice@plant.example)(mail=*", "\\2a"])
def test_author_emails_cannot_match_anyone_by_wildcard(ldap_directory: LdapDirectory, email: str) -> None:
    assert ldap_directory.find_by_email(email) is None


def test_a_dn_with_star_and_comma_is_escaped_in_group_lookups(ldap_directory: LdapDirectory,
                                                               slapd: Slapd) -> None:
    """Mallory's DN holds ``*`` and an escaped comma; unescaped, ``(member=cn=Mallory *...)`` would be a
    wildcard reaching the decoy in gatekeeper-admins."""
    mallory = ldap_directory.get_user("mallory")
    assert mallory is not None and mallory.dn is not None and "*" in mallory.dn
    assert mallory.name == "Mallory *, Wildcard"
    assert groups(ldap_directory, "mallory") == {"engineers": ("engineers",),
                                                 "ot-staff": ("engineers", "ot-staff")}
    admins = [u.username for u, _ in ldap_directory.group_members("gatekeeper-admins")]
    assert admins == ["frank", "mallory2"] and WILDCARD_DN != DECOY_DN


# -- lookups ------------------------------------------------------------------------------------------------
def test_find_by_email_is_case_insensitive(ldap_directory: LdapDirectory) -> None:
    user = ldap_directory.find_by_email("  Carol@PLANT.example ")
    assert user is not None and user.username == "carol"
    assert ldap_directory.find_by_email("nobody@plant.example") is None


def test_find_by_name_matches_username_or_display_name_literally(ldap_directory: LdapDirectory) -> None:
    """A bare-name co-author (issue 22 item 6): the server's matching rule, no wildcard."""
    assert [u.username for u in ldap_directory.find_by_name("carol lead")] == ["carol"]
    assert [u.username for u in ldap_directory.find_by_name(" CAROL ")] == ["carol"]
    assert ldap_directory.find_by_name("Carol*") == [] and ldap_directory.find_by_name("*") == []
    assert ldap_directory.find_by_name("grace") == []  # disabled: nobody


def test_disabled_user_is_treated_as_unknown(ldap_directory: LdapDirectory) -> None:
    """grace is still in ``leavers``; a locked account must not count for SoD."""
    assert ldap_directory.get_user(LOCKED_UID) is None
    assert ldap_directory.memberships(LOCKED_UID) == []
    assert ldap_directory.group_members("leavers") == []
    assert ldap_directory.find_by_email("grace@plant.example") is None


def test_nested_groups_are_resolved_with_their_paths(ldap_directory: LdapDirectory, slapd: Slapd) -> None:
    carol = ldap_directory.memberships("carol")
    via = ("ot-engineering-leads", "ot-engineers")
    assert Membership("ot-engineers", via, slapd.group_dn("ot-engineers")) in carol
    assert groups(ldap_directory, "alice") == {
        "engineers": ("engineers",), "ot-engineers": ("ot-engineers",), "ot-staff": ("engineers", "ot-staff")}
    assert groups(ldap_directory, "erin") == {
        "ot-emergency": ("ot-emergency",), "ot-engineers": ("ot-engineers",), "ot-staff": ("ot-staff",)}


def test_nesting_can_be_turned_off(make) -> None:  # type: ignore[no-untyped-def]
    flat = make(nested=False)
    assert groups(flat, "carol") == {"ot-engineering-leads": ("ot-engineering-leads",)}


def test_a_group_cycle_terminates(ldap_directory: LdapDirectory) -> None:
    assert groups(ldap_directory, "bob") == {"cycle-a": ("cycle-a",), "cycle-b": ("cycle-a", "cycle-b"),
                                             "finance-controllers": ("finance-controllers",)}
    members = {g: [(u.username, m.via) for u, m in ldap_directory.group_members(g)]
               for g in ("cycle-a", "cycle-b")}
    assert members == {"cycle-a": [("bob", ("cycle-a",))], "cycle-b": [("bob", ("cycle-a", "cycle-b"))]}


def test_group_of_unique_names_and_posix_groups(make) -> None:  # type: ignore[no-untyped-def]
    shapes = make(group_member_attr=ALL_SHAPES)
    assert groups(shapes, "alice")["plant-operators"] == ("plant-operators",)  # uniqueMember
    assert groups(shapes, "carol")["scada-admins"] == ("scada-admins",)  # memberUid
    assert [u.username for u, _ in shapes.group_members("scada-admins")] == ["carol", "erin"]
    assert [u.username for u, _ in shapes.group_members("plant-operators")] == ["alice", "bob"]
    assert "plant-operators" not in groups(make(), "alice")  # only the configured attributes count


def test_group_members_for_the_access_review(ldap_directory: LdapDirectory, slapd: Slapd) -> None:
    rows = [(u.username, m.group, m.via, m.dn) for u, m in ldap_directory.group_members("ot-staff")]
    dn = slapd.group_dn("ot-staff")
    assert rows == [("alice", "ot-staff", ("engineers", "ot-staff"), dn),
                    ("erin", "ot-staff", ("ot-staff",), dn),
                    ("mallory", "ot-staff", ("engineers", "ot-staff"), dn)]
    assert ldap_directory.group_members("no-such-group") == []


def test_memberships_do_not_need_the_memberof_overlay(ldap_directory: LdapDirectory, slapd: Slapd) -> None:
    """slapadd bypasses overlays, so memberOf misses every membership loaded that way (a real pitfall
    with bulk-loaded directories); the group walk is the source of truth."""
    with slapd.admin() as conn:
        conn.search(slapd.user_dn("alice"), "(objectClass=*)", search_scope="BASE", attributes=["memberOf"])
        assert not conn.entries[0].entry_attributes_as_dict.get("memberOf")
    assert "engineers" in groups(ldap_directory, "alice")


def test_group_exists(ldap_directory: LdapDirectory) -> None:
    assert ldap_directory.group_exists("ot-staff") and ldap_directory.group_exists("scada-admins")
    assert not ldap_directory.group_exists("alice")  # a user, not a group
    assert not ldap_directory.group_exists("no-such-group")


def test_membership_changes_are_seen_at_the_next_lookup(ldap_directory: LdapDirectory, slapd: Slapd) -> None:
    """No caching between signing and the gate: a removal counts at once, so does a nested addition."""
    assert "finance-controllers" in groups(ldap_directory, "bob")
    assert "finance-controllers" not in groups(ldap_directory, "dave")
    slapd.add_member("finance-controllers", slapd.group_dn("auditors"))  # groupOfNames needs one member
    slapd.remove_member("finance-controllers", slapd.user_dn("bob"))
    try:
        assert "finance-controllers" not in groups(ldap_directory, "bob")
        assert groups(ldap_directory, "dave")["finance-controllers"] == ("auditors", "finance-controllers")
    finally:
        slapd.add_member("finance-controllers", slapd.user_dn("bob"))
        slapd.remove_member("finance-controllers", slapd.group_dn("auditors"))
    assert "finance-controllers" in groups(ldap_directory, "bob")


def test_cached_memberships_are_for_page_views_only(slapd: Slapd) -> None:
    now = [0.0]
    directory = LdapDirectory(slapd.config(), password=SERVICE_PASSWORD, clock=lambda: now[0])
    try:
        assert "ot-engineers" in {m.group for m in directory.memberships_cached("erin")}
        slapd.remove_member("ot-engineers", slapd.user_dn("erin"))
        try:
            assert "ot-engineers" in {m.group for m in directory.memberships_cached("erin")}
            assert "ot-engineers" not in groups(directory, "erin")  # the SoD path is always fresh
            now[0] = 31.0
            assert "ot-engineers" not in {m.group for m in directory.memberships_cached("erin")}
        finally:
            slapd.add_member("ot-engineers", slapd.user_dn("erin"))
    finally:
        directory.close()


def test_connections_are_reused_and_safe_across_threads(slapd: Slapd) -> None:
    directory = LdapDirectory(slapd.config(), password=SERVICE_PASSWORD, pool_size=3)
    expected = groups(directory, "carol")
    results: list[dict[str, tuple[str, ...]]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                results.append(groups(directory, "carol"))
        except BaseException as exc:  # collected: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 80 and all(r == expected for r in results)
    idle = [c for c in list(directory._slots.queue) if c is not None]
    assert 1 <= len(idle) <= 3  # at most pool_size binds for 81 lookups
    directory.close()


# -- outages -------------------------------------------------------------------------------------------------
def test_slapd_stopped_mid_run_fails_closed_and_recovers(ldap_directory: LdapDirectory, slapd: Slapd) -> None:
    assert ldap_directory.health() == "ok" and groups(ldap_directory, "alice")  # warm pooled connection
    slapd.stop()
    try:
        calls = [lambda d: d.memberships("alice"), lambda d: d.get_user("alice"),
                 lambda d: d.find_by_email("alice@plant.example"), lambda d: d.group_exists("ot-staff"),
                 lambda d: d.group_members("ot-staff"), lambda d: d.authenticate("alice", password("alice"))]
        down = r"^directory unreachable: ldap://127\.0\.0\.1:\d+: Connection refused$"
        for call in calls:
            with pytest.raises(DirectoryUnavailable, match=down):
                call(ldap_directory)
        assert ldap_directory.health().startswith("directory unreachable:")
    finally:
        slapd.start()
    assert ldap_directory.health() == "ok"
    assert "ot-staff" in groups(ldap_directory, "alice")


def test_a_restart_between_lookups_is_invisible(ldap_directory: LdapDirectory, slapd: Slapd) -> None:
    """Pooled connections die with the server (or an idle timeout); the next lookup reconnects."""
    assert "ot-staff" in groups(ldap_directory, "alice")
    slapd.restart()
    assert "ot-staff" in groups(ldap_directory, "alice")


def test_a_server_that_never_answers_times_out(make) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as silent:  # accepts connections (backlog), never speaks LDAP
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        hung = make(url=f"ldap://127.0.0.1:{silent.getsockname()[1]}", timeout=1.0)
        start = time.monotonic()
        with pytest.raises(DirectoryUnavailable, match=r"^directory unreachable: "):
            hung.memberships("alice")
        assert time.monotonic() - start < 5
        assert hung.health().startswith("directory unreachable: ")


def test_bad_service_password_is_one_clear_line(make) -> None:  # type: ignore[no-untyped-def]
    bad = make(password="not-the-password")
    with pytest.raises(DirectoryUnavailable, match=r"service account bind as cn=gatekeeper,.* failed "
                                                   r"\(invalidCredentials\)$"):
        bad.group_exists("ot-staff")
    assert "invalidCredentials" in bad.health() and "\n" not in bad.health()


def test_nothing_listening(make) -> None:  # type: ignore[no-untyped-def]
    down = make(url=f"ldap://127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(DirectoryUnavailable, match="Connection refused"):
        down.memberships("alice")


@pytest.mark.parametrize(("overrides", "key"), [
    ({"user_filter": "(uid={username}"}, "directory.user_filter"),
    ({"group_member_attr": " , "}, "directory.group_member_attr"),
    ({"ca_file": Path("/nonexistent/ca.pem")}, "directory.ca_file"),
])
def test_config_mistakes_are_reported_at_start(slapd: Slapd, overrides: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        LdapDirectory(replace(slapd.config(), **overrides), password=SERVICE_PASSWORD)  # type: ignore[arg-type]


# -- TLS ---------------------------------------------------------------------------------------------------
def tls_variants(slapd: Slapd) -> dict[str, dict[str, object]]:
    return {"starttls": {"start_tls": True}, "ldaps": {"url": slapd.ldaps_url}}


@pytest.mark.parametrize("variant", ["starttls", "ldaps"])
def test_tls_with_the_test_ca(make, slapd: Slapd, variant: str) -> None:  # type: ignore[no-untyped-def]
    assert slapd.tls is not None
    directory = make(ca_file=slapd.tls.ca, **tls_variants(slapd)[variant])
    assert directory.authenticate("carol", password("carol")).username == "carol"
    assert "ot-engineers" in groups(directory, "carol")
    assert directory.health() == "ok"


@pytest.mark.parametrize("variant", ["starttls", "ldaps"])
def test_tls_with_a_wrong_ca_fails_closed(make, slapd: Slapd, variant: str) -> None:  # type: ignore[no-untyped-def]
    assert slapd.tls is not None
    directory = make(ca_file=slapd.tls.wrong_ca, **tls_variants(slapd)[variant])
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        directory.memberships("carol")
    assert "certificate verify failed" in directory.health()


def test_tls_without_ca_file_uses_the_system_store(make, slapd: Slapd) -> None:  # type: ignore[no-untyped-def]
    """Never CERT_NONE: with no ca_file our test CA is unknown, so the connection is refused."""
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        make(url=slapd.ldaps_url).group_exists("ot-staff")


@pytest.mark.parametrize("uid", ["alice", "bob", "carol", "dave", "erin", "frank", "mallory", "mallory2"])
def test_group_graph_answers_exactly_as_the_walk(ldap_directory: LdapDirectory, uid: str) -> None:
    """One search of every group (the request memo's path) gives the same memberships and paths as
    the per-user walk: groupOfNames, groupOfUniqueNames, posixGroup memberUid, nesting, cycles."""
    graph = ldap_directory.group_graph()
    user = ldap_directory.get_user(uid)
    assert graph is not None and user is not None
    assert ldap_directory.memberships_in(graph, user) == ldap_directory.memberships(uid)


@pytest.mark.parametrize("group", ["ot-engineers", "ot-staff", "plant-operators", "scada-admins", "cycle-a",
                                   "gatekeeper-admins", "leavers", "no-such-group"])
def test_group_members_from_the_graph_equal_the_walk(ldap_directory: LdapDirectory, group: str) -> None:
    graph = ldap_directory.group_graph()
    assert graph is not None
    expected = ldap_directory.group_members(group)
    assert ldap_directory.group_members_in(graph, group) == expected
    known = [u for u, _ in expected][:2]  # users the request already looked up are not read again
    assert ldap_directory.group_members_in(graph, group, known) == expected


# -- the access review's bulk read (issue 24) ---------------------------------------------------------
def counted(directory: LdapDirectory) -> list[str]:
    """Count the searches ``directory`` sends (their filters), by wrapping its one search function."""
    sent: list[str] = []
    search = directory._search

    def wrapper(conn: object, base: str, flt: str, *args: object, **kwargs: object) -> object:
        sent.append(flt)
        return search(conn, base, flt, *args, **kwargs)  # type: ignore[arg-type]

    directory._search = wrapper  # type: ignore[method-assign]
    return sent


@pytest.mark.parametrize("shapes", ["member", ALL_SHAPES])
def test_group_accounts_in_two_searches_equal_the_walk_plus_disabled(make, slapd: Slapd,  # type: ignore[no-untyped-def]
                                                                      shapes: str) -> None:
    directory = make(group_member_attr=shapes)
    wanted = ["ot-engineers", "ot-staff", "plant-operators", "scada-admins", "cycle-b", "gatekeeper-admins",
              "leavers", "no-such-group"]
    sent = counted(directory)
    found = directory.group_accounts(wanted)
    assert len(sent) == 2  # every group, every account: whatever the numbers
    for group in wanted:
        assert [(u, m) for u, m, off in found[group] if not off] == directory.group_members(group)
    assert slapd.ppolicy, "the ppolicy overlay is needed to lock grace (slapd's ppolicy module)"
    assert [(u.username, m.via, off) for u, m, off in found["leavers"]] == [("grace", ("leavers",), True)]


def test_the_review_and_two_snapshots_on_slapd(slapd: Slapd, tmp_path: Path) -> None:
    """Nesting, a locked account still in an approving group, a person removed between two snapshots."""
    from gatekeeper import config
    from gatekeeper.actions import access
    from gatekeeper.actions.context import Services
    from gatekeeper.bootstrap import open_store
    from gatekeeper.ledger.events import AccessSnapshot
    from tests.e2e.test_ldap_flow import ldap_policy
    from tests.support.plant import make_plant

    plant = make_plant(tmp_path / "plant", policy=ldap_policy(slapd))
    cfg = config.load(plant.config)
    directory = LdapDirectory(cfg.directory, password=SERVICE_PASSWORD)
    svc = Services(config=cfg, store=open_store(cfg), directory=directory)
    slapd.add_member("ot-engineering-leads", slapd.user_dn(LOCKED_UID))
    try:
        sent = counted(directory)
        rows = {(r.right.username, r.right.right, r.right.category): r for r in access.review(svc).rows}
        assert len(sent) == 2
        assert rows[("carol", "author", "recipes")].right.via == ("ot-engineering-leads", "ot-engineers")
        assert rows[("mallory", "approve", "plant-notes")].right.via == ("engineers", "ot-staff")
        assert rows[("grace", "approve", "recipes")].conflicts == ("disabled",)
        assert rows[("frank", "admin", "")].right.repo == "" and rows[("mallory2", "admin", "")]  # the "*" DN's twin
        first = access.take_snapshot(svc, "2026-03-01T00:00:05.000000Z")
        slapd.remove_member("ot-engineering-leads", slapd.user_dn("carol"))
        second = access.take_snapshot(svc, "2026-03-02T00:00:05.000000Z")
        assert first is not None and second is not None
        lost = AccessSnapshot.from_payload(second.payload).lost
        assert {(r[0], r[1]) for r in lost} == {("carol", "approve"), ("carol", "author")}
        with svc.store.read() as s:
            changes = access.change_rows(s, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z")
        assert {(c["username"], c["change"], c["log_seq"]) for c in changes} == {("carol", "lost", second.seq)}
    finally:  # the session's slapd as the other tests know it
        import contextlib

        from ldap3.core.exceptions import LDAPException

        with contextlib.suppress(LDAPException):
            slapd.add_member("ot-engineering-leads", slapd.user_dn("carol"))
        with contextlib.suppress(LDAPException):
            slapd.remove_member("ot-engineering-leads", slapd.user_dn(LOCKED_UID))
        directory.close()
        svc.store.dispose()
