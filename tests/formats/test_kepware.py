"""Kepware: Config API projects, Project Maker channels and tag CSVs (BOM, CRLF), joined tag paths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gatekeeper.formats import kepware
from tests.formats.fixtures import SAMPLES, read

PROJECT = "kepware/simdemo_en-us.json"
MODBUS_CSV = "kepware/Tags/ModbusExample.csv"


def project(tags: list[dict[str, Any]], extra_devices: list[dict[str, Any]] | None = None) -> bytes:
    device = {"common.ALLTYPES_NAME": "Device1", "tags": tags}
    channel = {"common.ALLTYPES_NAME": "Channel1", "servermain.MULTIPLE_TYPES_DEVICE_DRIVER": "Simulator",
               "devices": [device, *(extra_devices or [])]}
    return json.dumps({"project": {"channels": [channel]}}).encode()


def tag(name: str, **props: Any) -> dict[str, Any]:
    base = {"common.ALLTYPES_NAME": name, "servermain.TAG_ADDRESS": "R0001", "servermain.TAG_DATA_TYPE": 5,
            "servermain.TAG_SCAN_RATE_MILLISECONDS": 100}
    return {**base, **props}


def messages(data: bytes, path: str = "project.json") -> list[str]:
    return [f"{f.severity}: {f.message}" for f in kepware.validate(path, data)]


@pytest.mark.parametrize("name", SAMPLES["kepware-project"])
def test_every_sample_parses_without_findings(name: str) -> None:
    assert kepware.validate(name, read(name)) == []


def test_csv_with_bom_and_crlf_reads_the_first_column() -> None:
    model = kepware.parse(read(MODBUS_CSV), MODBUS_CSV)
    assert model.tags[:2] == ["Tag1", "Tag10"]
    assert model.elements["Tag1"].props["address"] == "40001"


def test_config_api_tag_paths_include_tag_groups() -> None:
    model = kepware.parse(read(PROJECT), PROJECT)
    assert len(model.tags) == 560
    assert "Data Type Examples.16 Bit Device.K Registers.Float1" in model.tags
    assert "Channel1.Device1.Tag1" in model.tags


def test_project_maker_channels_join_their_tag_csv() -> None:
    files = [(name, read(name)) for name in SAMPLES["kepware-project"]]
    paths = kepware.tag_paths(files)
    assert {"ModbusChannel1.Device1.Tag1", "ControlLogixChannel1.Device1.REAL",
            "SimulatorChannel1.Device1.Float1"} <= paths
    moved = [(f"plant/kep/{name.removeprefix('kepware/')}".replace("/", "\\"), data) for name, data in files]
    assert kepware.tag_paths(moved) == paths  # another folder, Windows separators: same tags


def test_changed_address_scan_rate_and_data_type_read_by_name() -> None:
    old = project([tag("Tag1")])
    new = project([tag("Tag1", **{"servermain.TAG_ADDRESS": "R0002", "servermain.TAG_DATA_TYPE": 8,
                                  "servermain.TAG_SCAN_RATE_MILLISECONDS": 250})])
    texts = {c.text for c in kepware.diff("p.json", old, new)}
    assert texts == {"tag Channel1.Device1.Tag1 address R0001 → R0002",
                     "tag Channel1.Device1.Tag1 scan rate 100 → 250 ms",
                     "tag Channel1.Device1.Tag1 data type Word → Float"}


def test_scaling_change_is_financial() -> None:
    old = project([tag("Tag1")])
    scaling = {"servermain.TAG_SCALING_TYPE": 1, "servermain.TAG_SCALING_RAW_HIGH": 1000}
    new = project([tag("Tag1", **scaling)])
    changes = {c.text: c.financial for c in kepware.diff("p.json", old, new)}
    assert changes == {"tag Channel1.Device1.Tag1 scaling set to Linear": True,
                       "tag Channel1.Device1.Tag1 scaling raw high set to 1000": True}


def test_csv_diff_per_tag_and_column() -> None:
    old = read(MODBUS_CSV)
    new = old.replace(b'"Tag1","40001",Word,1,R/W,100', b'"Tag1","40001",Float,1,R/W,500')
    texts = [c.text for c in kepware.diff(MODBUS_CSV, old, new)]
    assert texts == ["tag Tag1 data type Word → Float", "tag Tag1 scan rate 100 → 500 ms"]


def test_channel_file_diff() -> None:
    name = "kepware/Channels/ModbusChannel1.json"
    old = read(name)
    new = old.replace(b"10.10.110.131", b"10.10.110.132")
    assert [c.text for c in kepware.diff(name, old, new)] == [
        "channel ModbusChannel1 deviceID 10.10.110.131 → 10.10.110.132"]


RULES = [
    (project([tag("Tag1"), tag("TAG1")]), "error: duplicate tag name TAG1 in Channel1.Device1"),
    (project([tag("Tag1", **{"servermain.TAG_ADDRESS": ""})]),
     "error: tag Channel1.Device1.Tag1: missing address"),
    (project([tag("Tag1", **{"servermain.TAG_SCAN_RATE_MILLISECONDS": 0})]),
     "error: tag Channel1.Device1.Tag1: invalid scan rate 0 (whole milliseconds, 10–99999990)"),
    (project([tag("Tag1", **{"servermain.TAG_SCAN_RATE_MILLISECONDS": "fast"})]),
     "error: tag Channel1.Device1.Tag1: invalid scan rate fast (whole milliseconds, 10–99999990)"),
    (project([tag("Tag1", **{"servermain.TAG_DATA_TYPE": 99})]),
     "error: tag Channel1.Device1.Tag1: unknown data type 99"),
    (project([{"servermain.TAG_ADDRESS": "R1"}]),
     "error: tag without name (common.ALLTYPES_NAME) in Channel1.Device1"),
    (project([tag("Tag.1")]), "error: tag name 'Tag.1' contains '.' or '\"'"),
    (project([], [{"common.ALLTYPES_NAME": "device1", "tags": []}]),
     "error: duplicate device name device1 in Channel1"),
]


@pytest.mark.parametrize(("data", "expected"), RULES)
def test_config_api_validation_rules(data: bytes, expected: str) -> None:
    assert expected in messages(data)


CSV_HEADER = b"Tag Name,Address,Data Type,Respect Data Type,Client Access,Scan Rate\r\n"
CSV_RULES = [
    (b"T1,K1,Word,1,R/W,100\r\nt1,K2,Word,1,R/W,100\r\n", "line 3", "error: duplicate tag name t1"),
    (b"T1,,Word,1,R/W,100\r\n", "line 2", "error: tag T1: missing address"),
    (b"T1,K1,Wrod,1,R/W,100\r\n", "line 2", "error: tag T1: unknown data type Wrod"),
    (b"T1,K1,Word,1,R/W,5\r\n", "line 2",
     "error: tag T1: invalid scan rate 5 (whole milliseconds, 10–99999990)"),
    (b"T1,K1,Word,1,R/W\r\n", "line 2", "error: expected 6 fields, found 5"),
]


@pytest.mark.parametrize(("rows", "location", "expected"), CSV_RULES)
def test_tag_csv_validation_rules(rows: bytes, location: str, expected: str) -> None:
    [finding] = kepware.validate("Tags/t.csv", CSV_HEADER + rows)
    assert (finding.location, f"{finding.severity}: {finding.message}") == (location, expected)


def test_not_a_kepware_document() -> None:
    assert messages(b'{"hello": 1}') == [
        'error: not a Kepware project: expected Config API JSON with "project" or "channels", or a Project '
        'Maker channel with "deviceName" and "tagPath"']
    assert messages(b"Name,Value\r\nx,1\r\n", "t.csv") == [
        "error: not a Kepware tag CSV: header lacks Tag Name, Address"]
