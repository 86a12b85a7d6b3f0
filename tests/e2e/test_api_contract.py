"""The HTTP contract of SPEC §6/§10: the OpenAPI document, /healthz, error shape, CR JSON fields."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.git import Repo
from tests.support.plant import Plant, password
from tests.support.service import HOOK_TOKEN, Service, running

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


@pytest.fixture
def unlimited(plant: Plant) -> Iterator[Service]:
    """The service with the API rate limit off (schemathesis sends hundreds of requests a second)."""
    plant.config.write_text(plant.config.read_text().replace("[service]\n", "[service]\nrate_limit_api = 0\n", 1))
    with running(plant) as svc:
        yield svc


def test_schemathesis_finds_no_drift_between_code_and_document(repo: Repo, unlimited: Service) -> None:
    """All checks, every phase (coverage, fuzzing, stateful through the document's links), a bounded
    number of examples: any status, field, header or content type the document does not declare fails."""
    repo.checkout("fuzzed", create=True)
    repo.commit({"cfg/fuzz.txt": "x\n"}, "fuzz target")
    assert repo.push("HEAD:refs/heads/fuzzed").change_id() == 1
    env = {**os.environ, "GK_ST_PASSWORD": password("frank"), "GK_ST_HOOK_TOKEN": HOOK_TOKEN}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
         "run", unlimited.url + "/api/v1/openapi.json", "--url", unlimited.url, "--checks", "all",
         "--max-examples", "10", "--seed", "12", "--workers", "1", "--no-color", "--generation-database", "none",
         "--request-timeout", "20"], env=env, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stdout[-12000:] + proc.stderr[-2000:]
    # bounded by --max-examples, not by a timer (no timed tests): ~20 s on the 2-core machine
    print(f"schemathesis: {time.monotonic() - started:.0f} s")


def test_downloads_are_documented_as_what_they_are(service: Service) -> None:
    doc = requests.get(service.url + "/api/v1/openapi.json", timeout=10).json()
    register = doc["paths"]["/api/v1/audit/register"]["get"]["responses"]["200"]["content"]
    assert set(register) == {"text/csv", "application/json",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert set(doc["paths"]["/api/v1/audit/evidence"]["get"]["responses"]["200"]["content"]) == {"application/zip"}
    assert doc["paths"]["/healthz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Health"}
    resp = service.get("/api/v1/audit/register?from=2026-01-01&to=2026-12-31&format=csv", "dave")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in resp.headers["Content-Disposition"]
    for bad in ("/api/v1/changes/9223372036854775808", "/api/v1/changes/18446744073709551616"):
        assert service.get(bad, "dave").status_code == 404
    assert service.get("/api/v1/log?after=9223372036854775808", "dave").status_code == 400
    assert service.get("/api/v1/changes?limit=0", "dave").status_code == 400
    put = requests.put(service.url + "/api/v1/changes", timeout=10)
    assert put.status_code == 405 and "GET" in put.headers["Allow"]
