"""The main flow of SPEC §1 through real pushes, the real service and the file directory."""

from __future__ import annotations

import pytest

from tests.support.git import Repo, gatekeeper, git
from tests.support.service import Service

pytestmark = pytest.mark.e2e


def open_cr(repo: Repo, files: dict[str, str | bytes | None], topic: str = "topic", **kw: object) -> int:
    repo.checkout(topic, create=True)
    repo.commit(files, f"change on {topic}")
    r = repo.push(f"HEAD:refs/heads/{topic}", **kw)  # type: ignore[arg-type]
    assert r.ok, r.stderr
    return r.change_id()


def bootstrap(repo: Repo, service: Service) -> None:
    """main exists with approved content (a topic compared with the empty tree, then main created)."""
    cid = open_cr(repo, {"cfg/readme.txt": "recipes live here\n", "docs/intro.md": "# plant\n"}, "bootstrap")
    assert service.sign(cid, "carol").status_code == 201
    r = repo.push("HEAD:refs/heads/main")
    assert r.ok, r.stderr
    assert f"change request {cid} deployed" in r.text()
    git(repo.work, "checkout", "-q", "-B", "main")


def test_main_flow_push_approve_deploy_register(repo: Repo, service: Service) -> None:
    bootstrap(repo, service)
    cid = open_cr(repo, {"erp/postings.txt": "FT-204 kg\n"}, "erp-change",
                  options=("gatekeeper.ticket=OT-77", "gatekeeper.title=FT-204 posts in L"))
    cr = service.get(f"/api/v1/changes/{cid}", "bob").json()
    assert cr["state"] == "pending" and cr["ticket"] == "OT-77" and cr["title"] == "FT-204 posts in L"
    assert cr["financial"] is True and cr["categories"] == ["erp-mapping"]
    assert {"group": "finance-controllers", "count": 1} in cr["approvals_required"]
    assert cr["url"].endswith(f"/changes/{cid}")
    # The gate refuses while approvals are missing, naming ref, file, category, what is missing, URL.
    r = repo.push("HEAD:refs/heads/main")
    assert not r.ok
    assert any("refusing refs/heads/main: erp/postings.txt (erp-mapping)" in ln and "finance-controllers" in ln
               and f"/changes/{cid}" in ln for ln in r.lines), r.lines
    assert service.sign(cid, "bob", meaning="Reviewed and approved").status_code == 201
    assert not repo.push("HEAD:refs/heads/main").ok  # still lacks the OT lead
    resp = service.sign(cid, "carol", comment="ok")
    assert resp.status_code == 201 and resp.json()["state"] == "approved"
    r = repo.push("HEAD:refs/heads/main")
    assert r.ok, r.stderr
    cr = service.get(f"/api/v1/changes/{cid}", "bob").json()
    assert cr["state"] == "deployed" and cr["deployed_commit"] == repo.head() and cr["deployed_by"] == "alice"
    reg = service.get("/api/v1/audit/register?from=2000-01-01&to=2100-12-31&format=json", "dave").json()
    row = next(r for r in reg if r["change_id"] == cid)
    assert row["state"] == "deployed" and row["ticket"] == "OT-77"
    assert "bob (finance-controllers, Reviewed and approved," in row["approvals"]
    assert row["log_seqs"] == sorted(row["log_seqs"]) and len(row["log_seqs"]) >= 4
    assert service.get("/api/v1/audit/register?from=2000-01-01&to=2100-12-31", "alice").status_code == 403
    allowed = [e for e in service.get("/api/v1/log?limit=500", "dave").json()["entries"]
               if e["kind"] == "push.allowed" and e["payload"]["refs"] and e["payload"]["refs"][0]["deploys"] == [cid]]
    counted = allowed[-1]["payload"]["refs"][0]["approvals"][str(cid)]
    assert {a["username"] for a in counted} == {"bob", "carol"}
    carol = next(a for a in counted if a["username"] == "carol")
    assert carol["memberships"][0]["group"] == "ot-engineering-leads"  # memberships used at the gate, logged
    rc = gatekeeper(repo.plant, "log", "verify")
    assert rc.returncode == 0, rc.stderr


def test_fast_forward_merge_of_topic_into_advanced_main(repo: Repo, service: Service) -> None:
    bootstrap(repo, service)
    a = open_cr(repo, {"cfg/a.txt": "A\n"}, "topic-a")
    git(repo.work, "checkout", "-q", "main")
    b = open_cr(repo, {"cfg/b.txt": "B\n"}, "topic-b")
    for cid in (a, b):
        assert service.sign(cid, "carol").status_code == 201
    git(repo.work, "checkout", "-q", "main")
    git(repo.work, "merge", "-q", "--no-ff", "-m", "merge a", "topic-a")
    git(repo.work, "merge", "-q", "--no-ff", "-m", "merge b", "topic-b")
    r = repo.push("main")
    assert r.ok, r.stderr
    assert f"change request {a} deployed" in r.text() and f"change request {b} deployed" in r.text()


def test_rebase_keeps_approval_and_content_change_resets_it(repo: Repo, service: Service) -> None:
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/r1.txt": "temp=85\n"}, "rebase-me")
    fp1 = service.get(f"/api/v1/changes/{cid}", "carol").json()["fingerprint"]
    assert service.sign(cid, "carol").status_code == 201
    # Meanwhile main moves on with an unrelated, approved docs change.
    git(repo.work, "checkout", "-q", "main")
    repo.commit({"docs/other.md": "unrelated\n"}, "docs only")
    assert repo.push("main").ok
    git(repo.work, "checkout", "-q", "rebase-me")
    git(repo.work, "rebase", "-q", "main")
    r = repo.push("HEAD:refs/heads/rebase-me", force=True)
    assert "approvals kept (same content)" in r.text(), r.lines
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["fingerprint"] == fp1 and cr["state"] == "approved" and len(cr["revisions"]) == 2
    repo.commit({"cfg/r1.txt": "temp=90\n"}, "content change")
    r = repo.push("HEAD:refs/heads/rebase-me")
    assert "approvals reset (content changed)" in r.text()
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["state"] == "pending" and cr["fingerprint"] != fp1
    assert not repo.push("HEAD:refs/heads/main").ok


@pytest.mark.parametrize(("author", "committer", "trailer", "signer", "reason", "code"), [
    ("carol", "alice", "", "carol", "as author", "sod.self"),
    ("alice", "carol", "", "carol", "as committer", "sod.self"),
    ("alice", "alice", "Co-authored-by: Carol Lead <carol@plant.example>", "carol", "as co-author", "sod.self"),
    ("alice", "alice", "", "alice", "pusher", "sod.self"),
    ("alice", "alice", "", "bob", "not in an approving group", "sod.not_in_group"),
])
def test_sod_refusals_give_the_exact_reason(repo: Repo, service: Service, author: str, committer: str,
                                            trailer: str, signer: str, reason: str, code: str) -> None:
    repo.checkout("sod", create=True)
    repo.commit({"cfg/x.txt": "x\n"}, "x", author=author, committer=committer, trailers=trailer)
    cid = repo.push("HEAD:refs/heads/sod").change_id()
    resp = service.sign(cid, signer)
    assert resp.status_code == 403
    assert reason in resp.json()["error"]["message"]
    assert resp.json()["error"]["reasons"][0]["code"] == code  # SPEC §12: the same reason, with its code
    assert service.get(f"/api/v1/changes/{cid}", "gina").json()["state"] == "pending"
    # The refusal is evidence: logged with its reasons, tied to the change, counted by the metrics.
    log = service.get("/api/v1/log?limit=1000", "dave").json()["entries"]
    [refused] = [e for e in log if e["kind"] == "change.sign_refused"]
    assert refused["actor"] == signer and refused["payload"]["change_id"] == cid
    assert refused["payload"]["reasons"][0]["code"] == code and reason in refused["payload"]["reasons"][0]["message"]
    assert not [e for e in log if e["kind"] == "change.approved"]  # nothing else was recorded
    assert refused["seq"] in service.get(f"/api/v1/changes/{cid}", "gina").json()["log_seqs"]
    metrics = service.get("/api/v1/audit/metrics?from=2000-01-01&to=2999-12-31", "dave").json()
    assert metrics["refused_signatures"] == 1 and metrics["sod_refusals"] >= 1


def test_one_person_one_slot_and_unauthorized_author(repo: Repo, service: Service, plant) -> None:  # type: ignore[no-untyped-def]
    plant.write_directory({
        "ot-engineers": (["alice", "erin"], ["ot-engineering-leads"]),
        "ot-engineering-leads": (["carol", "gina"], []),
        "finance-controllers": (["bob", "carol"], []),
        "auditors": (["dave"], []), "ot-emergency": (["erin"], []), "gatekeeper-admins": (["frank"], []),
    })
    cid = open_cr(repo, {"erp/map.txt": "m\n"}, "slots")
    assert service.sign(cid, "carol").status_code == 201
    resp = service.sign(cid, "carol", group="finance-controllers")
    assert resp.status_code == 403 and "one person, one slot" in resp.json()["error"]["message"]
    # mallory is in no authors group: her CR is flagged and cannot be approved.
    repo.checkout("mallory", create=True)
    repo.commit({"cfg/m.txt": "m\n"}, "mallory's change", author="mallory")
    r = repo.push("HEAD:refs/heads/mallory", user="mallory")
    assert "unauthorized author: mallory is not in ot-engineers" in r.text()
    mid = r.change_id()
    resp = service.sign(mid, "gina")
    assert resp.status_code == 403 and "unauthorized author" in resp.json()["error"]["message"]


def test_reject_needs_comment_and_blocks(repo: Repo, service: Service) -> None:
    cid = open_cr(repo, {"cfg/r.txt": "r\n"}, "rej")
    assert service.sign(cid, "carol", "reject").status_code == 400
    resp = service.sign(cid, "carol", "reject", comment="wrong setpoint")
    assert resp.status_code == 201 and resp.json()["state"] == "rejected"
    assert service.sign(cid, "gina").status_code == 409
    assert service.post(f"/api/v1/changes/{cid}/withdraw", "carol").status_code == 403
    resp = service.post(f"/api/v1/changes/{cid}/withdraw", "alice")
    assert resp.status_code == 200 and resp.json()["state"] == "withdrawn"


def test_protected_branch_rules(repo: Repo, service: Service) -> None:
    bootstrap(repo, service)
    # creation only as an exact copy of another protected branch
    assert repo.push("main:refs/heads/release/1.0").ok
    repo.commit({"docs/x.md": "x\n"}, "docs")
    r = repo.push("HEAD:refs/heads/release/2.0")
    assert not r.ok and "exact copy" in r.text()
    # non-fast-forward and deletion refused
    git(repo.work, "checkout", "-q", "--orphan", "rewritten")
    repo.commit({"cfg/new.txt": "history rewritten\n"}, "rewrite")
    r = repo.push("HEAD:refs/heads/main", force=True)
    assert not r.ok and "non-fast-forward" in r.text()
    r = repo.push(":refs/heads/release/1.0")
    assert not r.ok and "deleting a protected branch" in r.text()
    # docs need no approval: allowed and logged
    git(repo.work, "checkout", "-q", "-B", "main", "origin/main")
    repo.commit({"docs/howto.md": "how\n"}, "docs")
    r = repo.push("HEAD:refs/heads/main")
    assert r.ok and "docs/howto.md (docs): no approval needed; logged" in r.text()


def test_no_pusher_identity_refuses_protected_accepts_topic(repo: Repo, service: Service) -> None:
    repo.commit({"cfg/a.txt": "a\n"}, "a")
    r = repo.push("HEAD:refs/heads/main", user=None)
    assert not r.ok and "no pusher identity" in r.text() and "GATEKEEPER_USER" in r.text()
    r = repo.push("HEAD:refs/heads/topic-x", user=None)
    assert r.ok and "no change request opened" in r.text()


def test_fail_closed_when_service_is_down(repo: Repo, service: Service) -> None:
    service.stop()
    repo.commit({"cfg/a.txt": "a\n"}, "a")
    r = repo.push("HEAD:refs/heads/main")
    assert not r.ok
    assert any("service unreachable" in ln for ln in r.lines)
    assert any("refusing refs/heads/main" in ln and "fail closed" in ln for ln in r.lines)
    r = repo.push("HEAD:refs/heads/topic-down")
    assert r.ok and "no change request was opened" in r.text()


def test_wrong_hook_token_fails_closed(repo: Repo, service: Service) -> None:
    repo.commit({"cfg/a.txt": "a\n"}, "a")
    r = repo.push("HEAD:refs/heads/main", token="wrong")
    assert not r.ok and "invalid hook token" in r.text()


def test_topic_deletion_withdraws_the_cr(repo: Repo, service: Service) -> None:
    cid = open_cr(repo, {"cfg/z.txt": "z\n"}, "gone")
    r = repo.push(":refs/heads/gone")
    assert r.ok and f"change request {cid} withdrawn" in r.text()
    assert service.get(f"/api/v1/changes/{cid}", "carol").json()["state"] == "withdrawn"


@pytest.mark.parametrize("user_var", ["GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER", "REMOTE_USER"])
def test_git_servers_name_the_pusher(repo: Repo, service: Service, user_var: str) -> None:
    """GitLab server hooks, Gitea/Forgejo, gitolite and git-http-backend each set their own variable."""
    repo.checkout("server", create=True)
    repo.commit({"cfg/s.txt": user_var}, "s", author="erin")
    r = repo.push("HEAD:refs/heads/server", user="erin", user_var=user_var)
    cid = r.change_id()
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["requested_by"] == "erin" and cr["revisions"][0]["pushed_by"] == "erin"


def test_change_list_and_show_read_from_the_service(repo: Repo, service: Service) -> None:
    cid = open_cr(repo, {"cfg/c.txt": "c\n"}, "cli", options=("gatekeeper.title=Raise TT-101 high",))
    env = {"GATEKEEPER_USER": "carol", "GATEKEEPER_PASSWORD": "pw-carol-secret"}
    proc = gatekeeper(repo.plant, "change", "list", "--state", "pending", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"{cid:>6}  pending" in proc.stdout and "Raise TT-101 high" in proc.stdout
    proc = gatekeeper(repo.plant, "change", "show", str(cid), env=env)
    assert proc.returncode == 0 and "needs 1 more by ot-engineering-leads" in proc.stdout
    proc = gatekeeper(repo.plant, "change", "show", "999", env=env)
    assert proc.returncode == 1 and proc.stderr == "gatekeeper: error: change request 999 not found\n"
    proc = gatekeeper(repo.plant, "change", "list", env={"GATEKEEPER_USER": "carol", "GATEKEEPER_PASSWORD": "x"})
    assert proc.returncode == 1 and "invalid username or password" in proc.stderr
