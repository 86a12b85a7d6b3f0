"""Drift checks against real live sources (issue 15): the HTTP server on 127.0.0.1 serving the real
Kepware and Ignition samples, an exporter command and file drops; the log entries and states."""

from __future__ import annotations

import json

from sqlmodel import col, select

from gatekeeper.store.tables import ChangeLog, DriftState
from tests.drift.conftest import FULL, SIMDEMO, DriftPlant


def entries(dp: DriftPlant, after: int, kind: str | None = None) -> list[tuple[str, dict[str, object]]]:
    with dp.store.read() as s:
        q = select(ChangeLog).where(col(ChangeLog.seq) > after).order_by(col(ChangeLog.seq))
        rows = s.exec(q).all()
    return [(r.kind, json.loads(r.payload)) for r in rows if kind is None or r.kind == kind]


def head(dp: DriftPlant) -> int:
    with dp.store.read() as s:
        row = s.exec(select(ChangeLog).order_by(col(ChangeLog.seq).desc()).limit(1)).first()
        return row.seq if row else 0


def test_all_sources_in_line_when_live_is_the_approved_content(dp: DriftPlant) -> None:
    results = dp.check()
    assert [(r.source.name, r.state) for r in results] == [
        ("kepware-api", "in line"), ("ignition-gateway", "in line"), ("ignition-native", "in line"),
        ("kepware-maker", "in line"), ("erp-interface", "in line")]
    assert all(r.summary.startswith("matches main at ") for r in results)


def test_reformatting_reordering_and_volatile_fields_are_not_drift(dp: DriftPlant) -> None:
    doc = json.loads(SIMDEMO.decode("utf-8-sig"))
    doc["project"]["PROJECT_ID"] = 4711  # Kepware's Config API stamps every object; bumped by any edit
    for channel in doc["project"]["channels"]:
        channel["PROJECT_ID"] = 4711
    reordered = {"project": dict(reversed(list(doc["project"].items())))}
    dp.http.routes["/kepware/project"] = json.dumps(reordered, indent=4).encode()
    dp.http.routes["/ignition/tags"] = json.dumps(json.loads(FULL), separators=(",", ":")).encode()
    [kep, ign] = [dp.check(source=name)[0] for name in ("kepware-api", "ignition-gateway")]
    assert (kep.state, ign.state) == ("in line", "in line"), (kep.summary, ign.summary)


def test_a_tag_edited_in_the_designer_is_drift_then_cleared(dp: DriftPlant) -> None:
    start = head(dp)
    dp.check(source="ignition-gateway")  # in line first
    edited = FULL.replace(b'"name": "ActiveAlarms"', b'"name": "ActiveAlarms", "engUnit": "alarms"', 1)
    assert edited != FULL
    dp.http.routes["/ignition/tags"] = edited
    [first] = dp.check(source="ignition-gateway")
    assert first.state == "drift"
    assert first.line().startswith("ignition-gateway: drift: 1 change in tags/ignition/full-tag-export.json: ")
    assert "Exchange/NPEDemo/ActiveAlarms engUnit set to alarms" in first.summary
    [again] = dp.check(source="ignition-gateway")  # the same drift: checked again, not detected again
    assert again.state == "drift"
    dp.http.routes["/ignition/tags"] = FULL
    [back] = dp.check(source="ignition-gateway")
    assert back.state == "in line"
    kinds = [k for k, _ in entries(dp, start)]
    assert kinds == ["drift.checked", "drift.checked", "drift.detected", "drift.checked", "drift.checked",
                     "drift.cleared"]
    checked = [p for k, p in entries(dp, start, "drift.checked")]
    import hashlib

    assert checked[1]["live_sha256"] == hashlib.sha256(edited).hexdigest()
    assert [p["result"] for p in checked] == ["in line", "drift", "drift", "in line"]
    [(_, detected)] = entries(dp, start, "drift.detected")
    assert detected["source"] == "ignition-gateway" and detected["path"] == "tags/ignition/full-tag-export.json"
    assert "engUnit set to alarms" in str(detected["text"])
    change = detected["diff"][0]["changes"][0]  # type: ignore[index]
    assert change["kind"] == "changed" and change["financial"] is True  # engUnit changes what is booked
    [(_, cleared)] = entries(dp, start, "drift.cleared")
    assert cleared["was"] == "drift"


def test_kepware_api_needs_its_header_from_the_environment(dp: DriftPlant, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("DRIFT_TEST_KEPWARE_AUTH", "Authorization: Bearer wrong")
    [r] = dp.check(source="kepware-api")
    assert (r.state, r.summary) == ("error", "HTTP 401 Unauthorized")
    monkeypatch.delenv("DRIFT_TEST_KEPWARE_AUTH")
    [r] = dp.check(source="kepware-api")
    assert (r.state, r.summary) == ("error", "environment variable DRIFT_TEST_KEPWARE_AUTH (header_env) is not set")
    monkeypatch.setenv("DRIFT_TEST_KEPWARE_AUTH", "no colon here")
    assert dp.check(source="kepware-api")[0].summary.endswith("must hold one header as 'Name: value'")


def test_kepware_setting_changed_on_the_server_is_drift(dp: DriftPlant) -> None:
    doc = json.loads(SIMDEMO.decode("utf-8-sig"))
    tag = doc["project"]["channels"][0]["devices"][0]["tags"][0]
    tag["servermain.TAG_SCAN_RATE_MILLISECONDS"] = 5000
    dp.http.routes["/kepware/project"] = json.dumps(doc).encode()
    [r] = dp.check(source="kepware-api")
    assert r.state == "drift"
    assert r.summary == "1 change in tags/kepware/simdemo_en-us.json: tag Channel1.Device1.Tag1 scan rate 100 → 5000 ms"


def test_command_source_in_line_drift_and_failure(dp: DriftPlant) -> None:
    live = dp.plant.dir / "live" / "native-tag-export.json"
    live.write_bytes(live.read_bytes().replace(b'"value": 1,', b'"value": 5,', 1))
    [r] = dp.check(source="ignition-native")
    assert r.state == "drift" and "Sample Tags/Sample Tag 1 value 1 → 5" in r.summary, r.summary
    (dp.plant.dir / "live" / "FAIL").write_text("")
    [r] = dp.check(source="ignition-native")
    assert (r.state, r.summary) == ("error", f"{r.source.command[0]} exited with 3: gateway refused the export")


def test_file_drop_folder_compares_the_set_of_files(dp: DriftPlant) -> None:
    drop = dp.plant.dir / "drop" / "kepware-maker"
    (drop / "Tags" / "SimulatorAllDataTypes.csv").unlink()
    (drop / "Tags" / "Extra.csv").write_text("Tag Name,Address,Data Type\r\nX,K0001,Word\r\n")
    [r] = dp.check(source="kepware-maker")
    assert r.state == "drift"
    texts = [f"{d['path']}: {c['text']}" for d in r.diff for c in d["changes"]]
    assert "tags/kepware/maker/Tags/Extra.csv: in the live export but not in Git" in texts
    assert "tags/kepware/maker/Tags/SimulatorAllDataTypes.csv: missing from the live export" in texts
    with dp.store.read() as s:
        row = s.get(DriftState, "kepware-maker")
    assert row is not None and row.state == "drift" and json.loads(row.diff) == r.diff


def test_erp_interface_export_with_semicolons_and_decimal_commas_is_in_line(dp: DriftPlant) -> None:
    from tests.formats.test_erp_mapping import to_semicolons

    drop = dp.plant.dir / "drop" / "erp" / "postings.csv"
    drop.write_bytes(to_semicolons(drop.read_bytes()))
    [r] = dp.check(source="erp-interface")
    assert r.state == "in line", r.summary
    lines = drop.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b";EA;1;", b";EA;2;")
    drop.write_bytes(b"".join(lines))
    [r] = dp.check(source="erp-interface")
    assert r.state == "drift"
    assert "MAP-0001 now books 2× the counted parts to MIGO/101 (goods receipt)" in r.summary


def test_unreadable_live_export_is_an_error_never_in_line(dp: DriftPlant) -> None:
    dp.http.routes["/ignition/tags"] = b'{"tags": [ {"name": "truncated'
    [r] = dp.check(source="ignition-gateway")
    assert r.state == "error" and r.summary.startswith("live export cannot be read as ignition-tags: "
                                                       "tags/ignition/full-tag-export.json: line 1: not valid JSON")
    dp.http.routes.pop("/ignition/tags")
    [r] = dp.check(source="ignition-gateway")
    assert (r.state, r.summary) == ("error", "HTTP 404 Not Found")
    start = head(dp)
    dp.check(source="ignition-gateway")
    assert [k for k, _ in entries(dp, start)] == ["drift.checked", "drift.error"]


def test_drift_that_matches_an_approved_not_yet_merged_change_says_so(dp: DriftPlant) -> None:
    """Engineers sometimes load the approved change into the plant before merging it: still drift
    (the branch does not hold it yet), but the summary names the CR that approved it."""
    repo = dp.repo
    repo.checkout("main")
    repo.checkout("alarm-unit", create=True)
    edited = FULL.replace(b'"name": "ActiveAlarms"', b'"name": "ActiveAlarms", "engUnit": "count"', 1)
    repo.commit({"tags/ignition/full-tag-export.json": edited}, "alarm counter unit")
    pushed = repo.push("HEAD:refs/heads/alarm-unit")
    assert pushed.ok, pushed.stderr
    cid = pushed.change_id()
    dp.http.routes["/ignition/tags"] = edited
    [pending] = dp.check(source="ignition-gateway")
    assert pending.state == "drift" and "matches CR" not in pending.summary  # pending is not approved
    assert dp.service.sign(cid, "carol").status_code == 201
    [approved] = dp.check(source="ignition-gateway")
    assert approved.state == "drift" and approved.matches_change == cid
    assert approved.summary.startswith(f"live matches CR {cid}, approved, not yet merged; 1 change in ")
    dp.http.routes["/ignition/tags"] = edited.replace(b'"engUnit": "count"', b'"engUnit": "pieces"')
    [other] = dp.check(source="ignition-gateway")
    assert other.state == "drift" and other.matches_change is None
    repo.checkout("main")
