"""The HTTP contract of SPEC §6/§10: the OpenAPI document, /healthz, error shape, CR JSON fields."""

from __future__ import annotations

import pytest
import requests

from tests.support.git import Repo
from tests.support.service import Service

pytestmark = pytest.mark.e2e

CR_FIELDS = {"id", "url", "repo", "target", "title", "ticket", "state", "requested_by", "requested_at",
             "categories", "financial", "revisions", "files", "findings", "semantic_diff", "approvals_required",
             "approvals", "sod_findings"}


def test_openapi_and_healthz_need_no_login(service: Service) -> None:
    doc = requests.get(service.url + "/api/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/hooks/pre-receive", "/api/v1/hooks/post-receive", "/api/v1/changes",
                 "/api/v1/changes/{id}", "/api/v1/changes/{id}/approvals", "/api/v1/changes/{id}/withdraw",
                 "/api/v1/log", "/api/v1/log/checkpoint", "/api/v1/audit/register", "/api/v1/audit/evidence"):
        assert path in doc["paths"], path
    health = requests.get(service.url + "/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "directory": "ok"}


def test_cr_json_has_the_spec_fields_and_errors_have_one_shape(repo: Repo, service: Service) -> None:
    repo.checkout("contract", create=True)
    repo.commit({"cfg/x.txt": "x\n"}, "x", trailers="Co-authored-by: Erin <erin@plant.example>")
    cid = repo.push("HEAD:refs/heads/contract").change_id()
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert set(cr) >= CR_FIELDS
    rev = cr["revisions"][0]
    assert {"number", "fingerprint", "pushed_by", "pushed_at", "commits"} <= set(rev)
    assert rev["commits"][0]["co_authors"] == ["erin@plant.example"]
    assert {"sha", "author_email", "committer_email", "co_authors"} <= set(rev["commits"][0])
    assert set(cr["files"][0]) >= {"path", "status", "categories"}
    resp = service.sign(cid, "carol", comment="ok")
    assert resp.status_code == 201
    signed = resp.json()["approvals"][0]
    assert {"username", "group", "decision", "meaning", "comment", "signed_at"} <= set(signed)
    assert signed["signed_at"].endswith("Z")
    for resp in (service.get("/api/v1/changes/0", "carol"), requests.get(service.url + "/api/v1/changes", timeout=5),
                 service.post(f"/api/v1/changes/{cid}/approvals", "carol", json={"decision": "approve"})):
        body = resp.json()
        assert resp.status_code in (401, 404, 409) and set(body) == {"error"}
        assert set(body["error"]) == {"code", "message"}
