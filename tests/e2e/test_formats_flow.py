"""Formats at the push and the gate: findings printed and stored, errors block approval and the gate,
the ERP mapping's tag paths checked against the repo's tag configurations (issue 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.git import Repo
from tests.support.service import Service

pytestmark = pytest.mark.e2e
FIX = Path(__file__).parents[1] / "fixtures" / "formats"


def ignition_mapping() -> str:
    lines = (FIX / "erp-mapping" / "production-postings.csv").read_text(encoding="utf-8").splitlines()
    return "\n".join([lines[0], *[ln for ln in lines[1:] if ",ignition," in ln]]) + "\n"


def plant_files() -> dict[str, str | bytes | None]:
    return {
        "tags/ignition/full-tag-export.json": (FIX / "ignition" / "full-tag-export.json").read_bytes(),
        "tags/ignition/native-tag-export.json": (FIX / "ignition" / "native-tag-export.json").read_bytes(),
        "erp/postings.csv": ignition_mapping(),
        "recipes/master.xml": (FIX / "batchml" / "MasterRecipe_B2MML.xml").read_bytes(),
    }


def test_valid_plant_then_a_mapping_to_an_unknown_tag_is_blocked(repo: Repo, service: Service) -> None:
    repo.checkout("plant", create=True)
    repo.commit(plant_files(), "plant configuration")
    r = repo.push("HEAD:refs/heads/plant")
    assert r.ok and not any(ln.startswith("error:") for ln in r.lines), r.lines
    cid = r.change_id()
    for user in ("carol", "bob"):
        assert service.sign(cid, user).status_code == 201
    assert repo.push("HEAD:refs/heads/main").ok

    repo.checkout("remap", create=True)
    text = ignition_mapping().splitlines()
    first = text[1].split(",")
    first[3] = "Exchange/NoSuchMachine/PartCount"
    first[7] = "kg"
    text[1] = ",".join(first)
    repo.commit({"erp/postings.csv": "\n".join(text) + "\n"}, "remap first posting")
    r = repo.push("HEAD:refs/heads/remap")
    assert r.ok  # topic pushes are accepted even with error findings
    assert any(ln.startswith("error: erp/postings.csv line 2:") and "Exchange/NoSuchMachine/PartCount" in ln
               for ln in r.lines), r.lines
    assert "this change cannot be approved until its validation errors are fixed" in r.text()
    cid = r.change_id()
    cr = service.get(f"/api/v1/changes/{cid}", "bob").json()
    assert cr["findings"][0]["severity"] == "error" and cr["findings"][0]["location"] == "line 2"
    change = cr["semantic_diff"][0]["changes"][0]
    assert change["financial"] is True and "kg" in change["text"]
    resp = service.sign(cid, "bob")
    assert resp.status_code == 403 and "validation error" in resp.json()["error"]["message"]
    r = repo.push("HEAD:refs/heads/main")
    assert not r.ok and any("refusing refs/heads/main: erp/postings.csv" in ln for ln in r.lines)


def test_hostile_xml_is_an_error_finding_not_a_crash(repo: Repo, service: Service) -> None:
    repo.checkout("hostile", create=True)
    repo.commit({"recipes/xxe.xml": (FIX / "hostile" / "xxe.xml").read_bytes(),
                 "recipes/bomb.xml": (FIX / "hostile" / "billion-laughs.xml").read_bytes()}, "hostile")
    r = repo.push("HEAD:refs/heads/hostile")
    assert r.ok, r.stderr
    errors = [ln for ln in r.lines if ln.startswith("error: recipes/")]
    assert len(errors) == 2, r.lines
    assert "root:" not in r.stderr  # /etc/passwd was never read
