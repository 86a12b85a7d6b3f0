"""``flavor = "active-directory"`` against a real Samba AD domain controller (issue 13), started by
the suite on a loopback address (tests/support/samba.py): sAMAccountName and UPN logins, nesting
resolved by the server through LDAP_MATCHING_RULE_IN_CHAIN, a disabled account (userAccountControl
514) refused at login, at signing and at the gate, ldaps:// and StartTLS verified against the test
CA, referrals from the domain root skipped, and a member removed between signing and the gate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gatekeeper.directory.ldap import LdapDirectory
from gatekeeper.errors import AuthError, DirectoryUnavailable
from tests.support.git import Repo, make_repo
from tests.support.plant import POLICY, Plant, make_plant
from tests.support.samba import SERVICE_PASSWORD, Samba, running_samba
from tests.support.service import Service, running
from tests.support.slapd import password

pytestmark = pytest.mark.ldap


@pytest.fixture(scope="module")
def samba() -> Iterator[Samba]:
    with running_samba() as server:
        yield server


@pytest.fixture
def ad(samba: Samba) -> Iterator[LdapDirectory]:
    directory = LdapDirectory(samba.config(), password=SERVICE_PASSWORD)
    yield directory
    directory.close()


@pytest.mark.parametrize("login", ["alice", "alice@plant.example", "ALICE", "Alice@PLANT.example"])
def test_sam_account_name_and_upn_logins_give_the_sam_account_name(ad: LdapDirectory, login: str) -> None:
    user = ad.authenticate(login, password("alice"))  # non-ASCII password: sent as UTF-8
    assert (user.username, user.name, user.email) == ("alice", "Alice Engineer", "alice@plant.example")
    assert user.dn == Samba.user_dn("alice")


@pytest.mark.parametrize(("login", "secret"), [("alice", "wrong"), ("alice", ""), ("nobody", "x"),
                                               ("grace", password("grace")), ("*", password("alice")),
                                               ("alice)(sAMAccountName=*", password("alice"))])
def test_failed_logins_are_one_generic_message(ad: LdapDirectory, login: str, secret: str) -> None:
    with pytest.raises(AuthError, match=r"^invalid username or password$"):
        ad.authenticate(login, secret)


def test_nested_groups_are_resolved_by_the_server_with_paths(ad: LdapDirectory) -> None:
    groups = {m.group: m.via for m in ad.memberships("henry")}
    assert groups == {"shift-leads": ("shift-leads",),
                      "ot-engineering-leads": ("shift-leads", "ot-engineering-leads"),
                      "ot-engineers": ("shift-leads", "ot-engineering-leads", "ot-engineers")}
    members = {u.username: m.via for u, m in ad.group_members("ot-engineers")}
    assert members["henry"] == ("shift-leads", "ot-engineering-leads", "ot-engineers")
    assert "grace" not in members and members["alice"] == ("ot-engineers",)


def test_disabled_account_is_unknown(ad: LdapDirectory) -> None:
    assert ad.get_user("grace") is None and ad.memberships("grace") == []
    assert ad.find_by_email("GRACE@plant.example") is None
    assert ad.find_by_email("Carol@Plant.Example").username == "carol"  # type: ignore[union-attr]
    assert ad.group_exists("shift-leads") and not ad.group_exists("shift-*")


def test_ldaps_and_start_tls_verify_against_the_ca(samba: Samba) -> None:
    for cfg in (samba.config(url=samba.ldaps_url, ca_file=samba.tls.ca),
                samba.config(start_tls=True, ca_file=samba.tls.ca)):
        d = LdapDirectory(cfg, password=SERVICE_PASSWORD)
        assert d.authenticate("carol@plant.example", password("carol")).username == "carol"
        d.close()
    wrong = LdapDirectory(samba.config(url=samba.ldaps_url, ca_file=samba.tls.wrong_ca), password=SERVICE_PASSWORD)
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        wrong.get_user("carol")


# -- the whole flow on the AD directory -------------------------------------------------------------

def ad_policy(samba: Samba) -> str:
    return POLICY.replace('[directory]\nkind = "file"\npath = "directory.toml"\n', samba.policy_block())


@pytest.fixture(scope="module")
def flow(samba: Samba, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Repo, Service]]:
    plant: Plant = make_plant(tmp_path_factory.mktemp("ad") / "plant", policy=ad_policy(samba))
    with running(plant, env={"GK_TEST_AD_PW": SERVICE_PASSWORD}) as svc:
        yield make_repo(plant), svc


def sign(svc: Service, cid: int, login: str, user: str) -> requests.Response:
    return requests.post(f"{svc.url}/api/v1/changes/{cid}/approvals", timeout=30, json={"decision": "approve"},
                         auth=(login.encode(), password(user).encode()))


def open_cr(repo: Repo, branch: str, path: str) -> int:
    repo.checkout(branch, create=True, start="origin/main" if branch != "first" else None)
    repo.commit({path: f"{branch}\n"}, branch)
    r = repo.push(f"HEAD:refs/heads/{branch}")
    assert r.ok, r.stderr
    return r.change_id()


def test_flow_upn_signer_disabled_and_removed_members(flow: tuple[Repo, Service], samba: Samba) -> None:
    repo, svc = flow
    cid = open_cr(repo, "first", "cfg/a.txt")
    # A disabled account cannot sign, even with the right password.
    assert sign(svc, cid, "grace", "grace").status_code == 401
    # henry approves through two levels of nesting, logging in by UPN; he is recorded by sAMAccountName.
    resp = sign(svc, cid, "henry@plant.example", "henry")
    assert resp.status_code == 201, resp.text
    assert resp.json()["approvals"][0]["username"] == "henry"
    assert repo.push("HEAD:refs/heads/main").ok
    # Disabled between signing and the gate: the approval no longer counts.
    cid = open_cr(repo, "second", "cfg/b.txt")
    assert sign(svc, cid, "carol", "carol").status_code == 201
    samba.set_enabled("carol", False)
    try:
        r = repo.push("HEAD:refs/heads/main")
        assert not r.ok and any("carol" in ln and "no longer counts" in ln for ln in r.lines), r.lines
    finally:
        samba.set_enabled("carol", True)
    assert repo.push("HEAD:refs/heads/main").ok
    # Removed from the group between signing and the gate.
    cid = open_cr(repo, "third", "cfg/c.txt")
    assert sign(svc, cid, "gina", "gina").status_code == 201
    samba.set_member("ot-engineering-leads", Samba.user_dn("gina"), present=False)
    try:
        r = repo.push("HEAD:refs/heads/main")
        assert not r.ok
        assert any("approval by gina no longer counts: not in ot-engineering-leads any more" in ln
                   for ln in r.lines), r.lines
    finally:
        samba.set_member("ot-engineering-leads", Samba.user_dn("gina"), present=True)
    assert repo.push("HEAD:refs/heads/main").ok


def test_disabled_login_is_refused_by_the_service(flow: tuple[Repo, Service], tmp_path: Path) -> None:
    _, svc = flow
    ok = requests.get(f"{svc.url}/api/v1/changes", auth=(b"dave@plant.example", password("dave").encode()), timeout=30)
    assert ok.status_code == 200
    resp = requests.get(f"{svc.url}/api/v1/changes", auth=(b"grace", password("grace").encode()), timeout=30)
    assert resp.status_code == 401 and resp.json()["error"]["message"] == "invalid username or password"


def test_the_access_review_on_ad_lists_in_chain_paths_and_the_disabled_account(samba: Samba, tmp_path: Path) -> None:
    """Issue 24: nesting resolved by the server (IN_CHAIN), the path rebuilt from memberOf, grace disabled
    yet still in ot-engineering-leads, three searches per group; a person removed between two snapshots."""
    from gatekeeper import config
    from gatekeeper.actions import access
    from gatekeeper.actions.context import Services
    from gatekeeper.bootstrap import open_store
    from gatekeeper.ledger import events as ev

    plant = make_plant(tmp_path / "plant", policy=ad_policy(samba))
    cfg = config.load(plant.config)
    directory = LdapDirectory(cfg.directory, password=SERVICE_PASSWORD)
    svc = Services(config=cfg, store=open_store(cfg), directory=directory)
    found = directory.group_accounts(["ot-engineers", "ot-engineering-leads"])
    for group, members in found.items():
        assert [(u, m) for u, m, off in members if not off] == directory.group_members(group)
    accounts = {u.username: (m.via, off) for u, m, off in found["ot-engineers"]}
    assert accounts["henry"] == (("shift-leads", "ot-engineering-leads", "ot-engineers"), False)
    assert accounts["grace"] == (("ot-engineering-leads", "ot-engineers"), True)
    rows = {(r.right.username, r.right.right, r.right.category): r for r in access.review(svc).rows}
    assert rows[("grace", "approve", "recipes")].conflicts == ("disabled",)
    assert rows[("henry", "author", "recipes")].right.via == ("shift-leads", "ot-engineering-leads", "ot-engineers")
    try:
        first = access.take_snapshot(svc, "2026-03-01T00:00:05.000000Z")
        samba.set_member("shift-leads", Samba.user_dn("henry"), present=False)
        second = access.take_snapshot(svc, "2026-03-02T00:00:05.000000Z")
        assert first is not None and second is not None
        lost = ev.AccessSnapshot.from_payload(second.payload).lost
        assert {(r[0], r[1]) for r in lost} == {("henry", "approve"), ("henry", "author")}
    finally:
        samba.set_member("shift-leads", Samba.user_dn("henry"), present=True)
        directory.close()
        svc.store.dispose()
