"""The inputs every SoD decision rests on (issue 11 items 2–5), attacked through real pushes and the real
service with the file directory: canonical names, whole commit ranges, co-author trailers, crafted paths."""

from __future__ import annotations

import pytest
import requests

from tests.support.git import Repo, crafted_tree_commit, fast_import_chain, git
from tests.support.plant import password
from tests.support.service import Service

pytestmark = pytest.mark.e2e


def cr_json(service: Service, cid: int) -> dict[str, object]:
    resp = service.get(f"/api/v1/changes/{cid}", "dave")
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("var", ["REMOTE_USER", "GL_USER"])
def test_pusher_is_stored_in_the_directorys_spelling(repo: Repo, service: Service, var: str) -> None:
    repo.checkout("carol-topic", create=True)
    repo.commit({"tags/plant.txt": "TT-101\n"}, "tags", author="erin")
    r = repo.push("HEAD:refs/heads/carol-topic", user="Carol", user_var=var)
    assert r.ok, r.stderr
    cid = r.change_id()
    data = cr_json(service, cid)
    assert data["requested_by"] == "carol"
    assert [rev["pushed_by"] for rev in data["revisions"]] == ["carol"]  # type: ignore[attr-defined,index]
    resp = service.sign(cid, "carol")
    assert resp.status_code == 403 and "carol cannot approve a change they took part in (as pusher)" in resp.text
    assert service.sign(cid, "gina").status_code == 201
    r = repo.push("HEAD:refs/heads/main", user="ＣＡＲＯＬ", user_var=var)  # fullwidth: the same person
    assert r.ok, r.stderr
    entries = service.get("/api/v1/log?limit=200", "dave").json()["entries"]
    deployed = [e for e in entries if e["kind"] == "change.deployed"]
    assert deployed and deployed[-1]["actor"] == "carol"


def test_unknown_pusher_is_refused_at_the_gate_and_its_cr_cannot_be_approved(repo: Repo, service: Service) -> None:
    repo.checkout("ghost", create=True)
    repo.commit({"tags/ghost.txt": "x\n"}, "ghost")
    r = repo.push("HEAD:refs/heads/ghost", user="ghost", user_var="REMOTE_USER")
    assert r.ok, r.stderr  # topic pushes are accepted: the work is visible and logged
    cid = r.change_id()
    assert any("unknown pusher: ghost is not a directory user" in line for line in r.lines)
    findings = cr_json(service, cid)["sod_findings"]
    assert any("unknown pusher: ghost" in f["message"] and f["code"] == "sod.unknown_pusher"
               for f in findings)  # type: ignore[attr-defined]
    resp = service.sign(cid, "gina")
    assert resp.status_code == 403 and "unknown pusher" in resp.text
    r = repo.push("HEAD:refs/heads/main", user="ghost", user_var="REMOTE_USER")
    assert not r.ok and "pusher 'ghost' is not a directory user" in r.text()
    refused = [e for e in service.get("/api/v1/log?limit=200", "dave").json()["entries"]
               if e["kind"] == "push.refused"]
    assert refused and refused[-1]["actor"] == "ghost"


def test_author_of_the_oldest_of_6000_commits_cannot_approve(repo: Repo, service: Service) -> None:
    repo.commit({"README.md": "plant\n"}, "root")
    assert repo.push("HEAD:refs/heads/main").ok  # docs only: no approval needed
    people = [("Carol Lead", "carol@plant.example")] + [("Alice Engineer", "alice@plant.example")] * 5999
    tip = fast_import_chain(repo.work, "long", people)
    r = repo.push(f"{tip}:refs/heads/long", user="alice")
    assert r.ok, r.stderr
    cid = r.change_id()
    commits = cr_json(service, cid)["revisions"][0]["commits"]  # type: ignore[index]
    assert len(commits) == 6000 and commits[-1]["author_email"] == "carol@plant.example"
    resp = service.sign(cid, "carol")
    assert resp.status_code == 403 and "took part in (as author, committer)" in resp.text


def test_co_author_in_any_trailer_spelling_cannot_approve(repo: Repo, service: Service) -> None:
    repo.checkout("pairing", create=True)
    repo.commit({"tags/pair.txt": "x\n"}, "paired change",
                trailers="co-authored-by: Carol\n  <carol@plant.example> (pairing)\n"
                         "Co-authored-by: Zed Contractor <zed@elsewhere.example>")
    r = repo.push("HEAD:refs/heads/pairing")
    cid = r.change_id()
    data = cr_json(service, cid)
    assert data["revisions"][0]["commits"][0]["co_authors"] == [  # type: ignore[index]
        "carol@plant.example", "zed@elsewhere.example"]
    resp = service.sign(cid, "carol")
    assert resp.status_code == 403 and "as co-author" in resp.text
    assert any("co-author 'zed@elsewhere.example'" in f["message"] and "matches no directory user" in f["message"]
               and f["code"] == "sod.unknown_co_author" for f in data["sod_findings"])  # type: ignore[index]
    assert service.sign(cid, "gina").status_code == 201  # visible, not blocking


def test_crafted_dotdot_path_cannot_reach_main(repo: Repo, service: Service) -> None:
    repo.commit({"README.md": "plant\n"}, "root")
    assert repo.push("HEAD:refs/heads/main").ok
    crafted = crafted_tree_commit(repo.work, "docs/../tags/x", parent=repo.head())
    r = repo.push(f"{crafted}:refs/heads/crafted")
    assert not r.ok and "fsck" in r.stderr.lower()  # install-hooks turned receive.fsckObjects on
    git(repo.bare, "config", "receive.fsckObjects", "false")  # an admin turns it off: the gate still refuses
    r = repo.push(f"{crafted}:refs/heads/crafted")
    assert r.ok, r.stderr
    cid = r.change_id()
    data = cr_json(service, cid)
    assert data["state"] == "pending"  # "docs" needs no approval, but the path is an error finding
    assert any(f["location"] == "path" and "'..' component" in f["message"]
               for f in data["findings"])  # type: ignore[attr-defined,index]
    assert service.sign(cid, "gina").status_code == 403
    r = repo.push(f"{crafted}:refs/heads/main")
    assert not r.ok and "malformed path 'docs/../tags/x'" in r.text()
    r = repo.push(f"{crafted}:refs/heads/main", user="erin", options=('gatekeeper.emergency="outage"',))
    assert not r.ok and "malformed path" in r.text()  # not even under break-glass


def test_fullwidth_spelling_of_a_locked_name_is_still_locked(repo: Repo, service: Service) -> None:
    url = f"{service.url}/api/v1/changes"
    for _ in range(5):
        assert requests.get(url, auth=("carol", "wrong"), timeout=10).status_code == 401
    for spelling in ("carol", "Carol", "ＣＡＲＯＬ", "𝐜𝐚𝐫𝐨𝐥"):
        resp = requests.get(url, auth=(spelling.encode(), password("carol").encode()), timeout=10)
        assert resp.status_code == 401 and "too many failed attempts" in resp.text, spelling
    assert requests.get(url, auth=("gina", password("gina")), timeout=10).status_code == 200
