"""The whole approval flow on ``directory.kind = "ldap"`` against a real slapd (issue 6): nested groups
grant approval rights, a membership removed between signing and the gate refuses the push, injection
attempts fail, and a stopped slapd fails closed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import slapd as ldap
from tests.support.git import Repo, make_repo
from tests.support.plant import POLICY, Plant, make_plant
from tests.support.service import Service, running

pytestmark = [pytest.mark.e2e, pytest.mark.ldap]


def ldap_policy(server: ldap.Slapd) -> str:
    block = (f'[directory]\nkind = "ldap"\nurl = "{server.url}"\nbind_dn = "{ldap.SERVICE_DN}"\n'
             f'bind_password_env = "GK_TEST_LDAP_PW"\nuser_base = "{ldap.PEOPLE}"\n'
             f'group_base = "{ldap.GROUPS}"\nnested = true\ntimeout = 2.0\n')
    policy = POLICY.replace('[directory]\nkind = "file"\npath = "directory.toml"\n', block)
    # A category whose approvers come only through nesting: engineers ⊂ ot-staff.
    return policy.replace('[[categories]]\nname = "docs"', '[[categories]]\nname = "plant-notes"\n'
                          'paths = ["notes/**"]\nauthors = ["ot-engineers"]\n'
                          'approvals = [ {{ group = "ot-staff", count = 1 }} ]\n\n[[categories]]\nname = "docs"')


@pytest.fixture(scope="module")
def server() -> Iterator[ldap.Slapd]:
    with ldap.running_slapd() as s:
        yield s


@pytest.fixture
def ldap_plant(tmp_path: Path, server: ldap.Slapd) -> Plant:
    return make_plant(tmp_path / "plant", policy=ldap_policy(server))


@pytest.fixture
def svc(ldap_plant: Plant) -> Iterator[Service]:
    with running(ldap_plant, env={"GK_TEST_LDAP_PW": ldap.SERVICE_PASSWORD}) as s:
        yield s


@pytest.fixture
def repo(ldap_plant: Plant, svc: Service) -> Repo:
    return make_repo(ldap_plant)


def auth(user: str) -> tuple[bytes, bytes]:
    """UTF-8 credentials: the test passwords are not ASCII (requests would send Latin-1)."""
    return user.encode(), ldap.password(user).encode()


def sign(svc: Service, cid: int, user: str) -> requests.Response:
    return requests.post(f"{svc.url}/api/v1/changes/{cid}/approvals", auth=auth(user), timeout=30,
                         json={"decision": "approve"})


def test_nested_group_grants_approval_and_gate_deploys(repo: Repo, svc: Service) -> None:
    repo.checkout("notes", create=True)
    repo.commit({"notes/shift.txt": "handover\n"}, "notes")
    cid = repo.push("HEAD:refs/heads/notes").change_id()
    resp = sign(svc, cid, "mallory")  # member of engineers, which is nested in ot-staff
    assert resp.status_code == 201, resp.text
    approval = resp.json()["approvals"][0]
    assert approval["group"] == "ot-staff"
    entries = requests.get(svc.url + "/api/v1/log?limit=100", auth=auth("dave"), timeout=10).json()["entries"]
    signed = next(e for e in entries if e["kind"] == "change.approved")
    used = signed["payload"]["memberships"]
    assert used and used[0]["via"] == ["engineers", "ot-staff"] and used[0]["dn"].startswith("cn=ot-staff")
    assert signed["payload"]["signer_dn"].startswith("cn=Mallory")
    r = repo.push("HEAD:refs/heads/main")
    assert r.ok, r.stderr


def test_member_removed_between_signing_and_gate_is_refused(repo: Repo, svc: Service, server: ldap.Slapd) -> None:
    repo.checkout("leave", create=True)
    repo.commit({"cfg/a.txt": "a\n"}, "a")
    cid = repo.push("HEAD:refs/heads/leave").change_id()
    assert sign(svc, cid, "carol").status_code == 201
    server.add_member("ot-engineering-leads", server.user_dn("frank"))  # groupOfNames needs a member
    server.remove_member("ot-engineering-leads", server.user_dn("carol"))
    try:
        r = repo.push("HEAD:refs/heads/main")
        assert not r.ok
        assert any("approval by carol no longer counts: not in ot-engineering-leads any more" in ln
                   for ln in r.lines), r.lines
    finally:
        server.add_member("ot-engineering-leads", server.user_dn("carol"))
        server.remove_member("ot-engineering-leads", server.user_dn("frank"))
    assert repo.push("HEAD:refs/heads/main").ok


@pytest.mark.parametrize("username", ["*", "carol)(uid=*", "*)(|(uid=*", "carol\\", "ca\x00rol"])
def test_injection_attempts_do_not_authenticate(svc: Service, username: str) -> None:
    resp = requests.get(svc.url + "/api/v1/changes", auth=(username.encode(), ldap.password("carol").encode()),
                        timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "invalid username or password"


def test_slapd_down_fails_closed(repo: Repo, svc: Service, server: ldap.Slapd) -> None:
    repo.checkout("down", create=True)
    repo.commit({"cfg/b.txt": "b\n"}, "b")
    cid = repo.push("HEAD:refs/heads/down").change_id()
    assert sign(svc, cid, "carol").status_code == 201
    server.stop()
    try:
        health = requests.get(svc.url + "/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert "unreachable" in health.json()["directory"]
        resp = requests.get(svc.url + "/api/v1/changes", auth=auth("carol"), timeout=10)
        assert resp.status_code == 503 and "directory unreachable" in resp.json()["error"]["message"]
        r = repo.push("HEAD:refs/heads/main")
        assert not r.ok and any("directory unreachable" in ln and "fail closed" in ln for ln in r.lines), r.lines
    finally:
        server.start()
    entries = requests.get(svc.url + "/api/v1/log?limit=200", auth=auth("dave"), timeout=10).json()["entries"]
    refused = [e for e in entries if e["kind"] == "push.refused"]
    reason = refused[-1]["payload"]["refs"][0]["reasons"][0] if refused else {}
    assert "directory unreachable" in reason["message"] and reason["code"] == "gate.directory_unavailable"
    assert requests.get(svc.url + "/healthz", timeout=10).status_code == 200


def test_pusher_canonicalised_by_slapd_cannot_approve(repo: Repo, svc: Service) -> None:
    """REMOTE_USER=Carol: slapd finds uid=carol case-insensitively; stored and compared as ``carol``."""
    repo.checkout("carol-ldap", create=True)
    repo.commit({"tags/ldap.txt": "TT-1\n"}, "tags", author="erin")
    r = repo.push("HEAD:refs/heads/carol-ldap", user="Carol", user_var="REMOTE_USER")
    assert r.ok, r.stderr
    cid = r.change_id()
    data = requests.get(f"{svc.url}/api/v1/changes/{cid}", auth=auth("dave"), timeout=10).json()
    assert data["requested_by"] == "carol" and data["revisions"][0]["pushed_by"] == "carol"
    resp = sign(svc, cid, "carol")
    assert resp.status_code == 403 and "took part in (as pusher)" in resp.text


def test_locked_name_stays_locked_in_any_spelling_slapd_matches(svc: Service) -> None:
    url = f"{svc.url}/api/v1/changes"
    for _ in range(5):
        assert requests.get(url, auth=("bob", "wrong"), timeout=10).status_code == 401
    for spelling in ("Bob", "ｂｏｂ", "𝐛𝐨𝐛"):
        resp = requests.get(url, auth=(spelling.encode(), ldap.password("bob").encode()), timeout=10)
        assert resp.status_code == 401 and "too many failed attempts" in resp.text, spelling
