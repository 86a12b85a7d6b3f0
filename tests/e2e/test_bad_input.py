"""Bad input of every kind: one clear message or status, the service stays up, nothing half-written."""

from __future__ import annotations

import os

import pytest
import requests

from tests.support.git import Repo, gatekeeper
from tests.support.service import HOOK_TOKEN, Service

pytestmark = pytest.mark.e2e


def log_count(service: Service) -> int:
    return int(service.get("/api/v1/log?limit=1", "dave").json()["head_seq"])


def hook_post(service: Service, body: bytes | str, token: str = HOOK_TOKEN) -> requests.Response:
    return requests.post(service.url + "/api/v1/hooks/pre-receive", data=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "request body must be valid JSON"),
    (b"[1, 2]", 400, "request body must be a JSON object"),
    (b'{"repo": "plant-a-ot"}', 400, "updates: Field required"),
    (b'{"repo": "plant-a-ot", "updates": [{"ref": "refs/heads/main", "old": "xyz", "new": "0"}]}', 400,
     "updates.0.old: String should match pattern"),
    (b"\xff\xfe\x00garbage", 400, "request body must be valid JSON"),
])
def test_garbage_hook_bodies(service: Service, body: bytes, status: int, message: str) -> None:
    before = log_count(service)
    resp = hook_post(service, body)
    assert resp.status_code == status
    assert message in resp.json()["error"]["message"]
    assert log_count(service) == before


def test_wrong_and_missing_tokens(service: Service) -> None:
    assert hook_post(service, b"{}", token="nope").status_code == 401
    resp = requests.post(service.url + "/api/v1/hooks/post-receive", json={}, timeout=10)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"


def test_unknown_ids_users_and_wrong_passwords(service: Service) -> None:
    assert service.get("/api/v1/changes/999", "carol").status_code == 404
    assert service.get("/api/v1/changes/abc", "carol").status_code == 404
    resp = service.post("/api/v1/changes/1/approvals", "nobody", json={"decision": "approve"})
    assert resp.status_code == 401 and resp.json()["error"]["message"] == "invalid username or password"
    resp = service.post("/api/v1/changes/1/approvals", "carol", pw="wrong", json={"decision": "approve"})
    assert resp.status_code == 401 and resp.json()["error"]["message"] == "invalid username or password"
    resp = service.post("/api/v1/changes/999/approvals", "carol", json={"decision": "maybe"})
    assert resp.status_code == 400 and "decision" in resp.json()["error"]["message"]
    assert service.get("/api/v1/nope", "carol").json()["error"]["code"] == "not_found"
    assert requests.get(service.url + "/healthz", timeout=5).json()["status"] == "ok"


def test_binary_and_huge_files_and_odd_ref_names(repo: Repo, service: Service) -> None:
    big = os.urandom(50 * 1024 * 1024)
    repo.checkout("weird/ref-näme_#1", create=True)
    repo.commit({"cfg/blob.bin": bytes(range(256)) * 2, "cfg/huge.bin": big, "cfg/ok.txt": "fine\n"}, "binaries")
    r = repo.push("HEAD:refs/heads/weird/ref-näme_#1")
    assert r.ok, r.stderr
    cid = r.change_id()
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    texts = {d["path"]: d["changes"][0]["text"] for d in cr["semantic_diff"]}
    assert texts["cfg/blob.bin"] == "binary file added"
    assert "too large to show" in texts["cfg/huge.bin"]
    assert cr["topic_ref"] == "refs/heads/weird/ref-näme_#1"
    assert service.sign(cid, "carol").status_code == 201
    r = repo.push("HEAD:refs/heads/main")
    assert r.ok, r.stderr


def test_a_push_of_2000_files(repo: Repo, service: Service) -> None:
    repo.checkout("many", create=True)
    repo.commit({f"cfg/f{i:04d}.txt": f"value {i}\n" for i in range(2000)}, "2000 files")
    r = repo.push("HEAD:refs/heads/many")
    assert r.ok, r.stderr
    cid = r.change_id()
    assert len(service.get(f"/api/v1/changes/{cid}", "carol").json()["files"]) == 2000
    assert service.sign(cid, "carol").status_code == 201
    assert repo.push("HEAD:refs/heads/main").ok


def test_cli_errors_are_one_line_without_traceback(repo: Repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text("[service\nurl=")
    for args in (["--config", str(bad), "log", "verify"], ["--config", str(tmp_path / "missing.toml"), "audit",
                                                            "export", "--from", "x", "--to", "y", "-o", "o.csv"]):
        proc = gatekeeper(repo.plant, *args)
        assert proc.returncode != 0
        assert proc.stderr.startswith("gatekeeper: error: ") and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
