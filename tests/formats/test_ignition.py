"""Ignition tag exports: tag paths, per-property and per-alarm diffs, and validation rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gatekeeper.formats import ignition
from gatekeeper.formats._common import ContentError
from tests.formats.fixtures import SAMPLES, read

FULL = "ignition/full-tag-export.json"
ACTIVE_ALARMS = "Exchange/NPEDemo/ActiveAlarms"


def edited(name: str, edit: Callable[[dict[str, Any]], None]) -> tuple[bytes, bytes]:
    """The sample and a copy with ``edit`` applied to its parsed JSON."""
    old = read(name)
    document = json.loads(old)
    edit(document)
    return old, json.dumps(document, indent=2).encode()


def find(document: dict[str, Any], path: str) -> dict[str, Any]:
    node = document
    for name in path.split("/"):
        node = next(tag for tag in node["tags"] if tag["name"] == name)
    return node


def messages(document: Any) -> list[str]:
    found = ignition.validate("tags.json", json.dumps(document).encode())
    return [f"{f.severity}: {f.message}" for f in found]


@pytest.mark.parametrize("name", SAMPLES["ignition-tags"])
def test_every_sample_parses_without_findings(name: str) -> None:
    assert ignition.validate(name, read(name)) == []


def test_tag_paths_leave_out_the_provider_and_udt_definitions() -> None:
    paths = ignition.tag_paths(ignition.parse(read(FULL)))
    assert "Exchange/NPEDemo/Machine1/Status/PartCount" in paths
    assert ACTIVE_ALARMS in paths
    assert not any(path.startswith("_types_") for path in paths)


def test_udt_members_the_export_leaves_implicit_are_expanded_from_the_type() -> None:
    def strip_members(document: dict[str, Any]) -> None:
        del find(document, "Sample UDTs/UDT A")["tags"]

    _old, new = edited("ignition/native-tag-export.json", strip_members)
    assert "Sample UDTs/UDT A/Example Tag" in ignition.tag_paths(ignition.parse(new))


def test_changed_opc_item_path_reads_per_tag_and_property() -> None:
    def set_opc(path: str, value: str) -> Callable[[dict[str, Any]], None]:
        return lambda document: find(document, path).update(valueSource="opc", opcItemPath=value)

    tag = "Exchange/NPEDemo/Machine1/Status/PartCount"
    _, old = edited(FULL, set_opc(tag, "ns=1;s=A"))
    new = old.replace(b"ns=1;s=A", b"ns=1;s=B")
    [change] = ignition.diff("t.json", old, new)
    assert change.text == f"tag {tag} opcItemPath ns=1;s=A → ns=1;s=B"
    assert (change.element, change.old, change.new) == (tag, "ns=1;s=A", "ns=1;s=B")


def test_added_alarm_then_changed_setpoint() -> None:
    alarm = {"name": "High", "mode": "AboveValue", "setpointA": 85, "priority": "High"}
    old, new = edited(FULL, lambda document: find(document, ACTIVE_ALARMS).update(alarms=[alarm]))
    [added] = ignition.diff("t.json", old, new)
    assert added.kind == "added"
    assert added.text == f"alarm High on {ACTIVE_ALARMS} added (mode AboveValue, setpoint 85, priority High)"
    raised = new.replace(b'"setpointA": 85', b'"setpointA": 90')
    [change] = ignition.diff("t.json", new, raised)
    assert change.text == f"alarm High on {ACTIVE_ALARMS} setpoint 85 → 90"


def test_scaling_changes_are_financial_and_unknown_properties_are_shown() -> None:
    scaled = {"scaleMode": "Linear", "rawLow": 0, "rawHigh": 4095, "vendorExtra": {"flag": True}}
    old, new = edited(FULL, lambda d: find(d, ACTIVE_ALARMS).update(scaled))
    texts = {c.text: c.financial for c in ignition.diff("t.json", old, new)}
    assert texts[f"tag {ACTIVE_ALARMS} rawHigh set to 4095"] is True
    assert texts[f"tag {ACTIVE_ALARMS} vendorExtra.flag set to true"] is False


def test_member_order_in_the_export_is_not_a_change() -> None:
    old, new = edited(FULL, lambda d: find(d, "Exchange/NPEDemo/Machine1/Status")["tags"].reverse())
    assert ignition.diff("t.json", old, new) == []


def test_removed_folder_lists_its_tags() -> None:
    old, new = edited("ignition/native-tag-export.json",
                      lambda d: d["tags"].remove(find(d, "Sample Tags")))
    removed = [c.text for c in ignition.diff("t.json", old, new)]
    assert "folder Sample Tags removed" in removed
    assert "tag Sample Tags/Sample Tag 1 removed (valueSource memory)" in removed


def tag(**props: Any) -> dict[str, Any]:
    return {"tagType": "AtomicTag", **props}


RULES = [
    ([tag(name="A"), tag(name="a")], "error: duplicate tag path a"),
    ([tag(valueSource="memory")], "error: tag without name (tagType AtomicTag) in the root folder"),
    ([tag(name="T", dataType="Flaot8")], "error: tag T: unknown dataType 'Flaot8'"),
    ([tag(name="T", alarms=[{"name": "Hi", "setpointA": "high"}])],
     "error: alarm Hi on T: setpoint high is not a number"),
    ([tag(name="T", alarms=[{"mode": "AboveValue"}])], "error: alarm without name on tag T"),
    ([tag(name="T", alarms=[{"name": "Hi"}, {"name": "Hi"}])], "error: duplicate alarm Hi on tag T"),
    ([tag(name="T", alarms=[{"name": "Hi", "priority": "Urgent"}])],
     "warning: alarm Hi on T: unknown priority Urgent"),
    ([tag(name="T", valueSource="opc")], "error: tag T: OPC tag without opcServer and opcItemPath; it cannot "
                                         "read a value"),
    ([tag(name="T", valueSource="opc", opcItemPath="ns=1;s=A")],
     "error: tag T: OPC tag without opcServer; it cannot read a value"),
    ([tag(name="T", engLow=100, engHigh=0)], "error: tag T: engLow 100 is above engHigh 0"),
    ([tag(name="T", engLow=0, engHigh=100, alarms=[{"name": "Hi", "setpointA": 150}])],
     "warning: alarm Hi on T: setpoint 150 is outside the engineering range 0…100"),
    ([tag(name="T", scaleMode="Linear", rawLow=0, rawHigh=0)],
     "error: tag T: linear scaling with rawLow = rawHigh (0)"),
    ([{"name": "X", "tagType": "Widget"}], "warning: tag X: unknown tagType 'Widget'"),
]


@pytest.mark.parametrize(("tags", "expected"), RULES)
def test_validation_rules(tags: list[dict[str, Any]], expected: str) -> None:
    assert expected in messages({"name": "", "tagType": "Provider", "tags": tags})


def test_bound_setpoint_is_not_a_number_error() -> None:
    binding = {"bindType": "Tag", "value": "[.]HighSP"}
    assert messages([tag(name="T", alarms=[{"name": "Hi", "setpointA": binding}])]) == []


def test_findings_locate_the_tag_by_json_path() -> None:
    document = {"tags": [tag(name="F", tags=[tag(name="T", dataType="x")])]}
    [finding] = ignition.validate("t.json", json.dumps(document).encode())
    assert finding.location == "$.tags[0].tags[0]"


def test_nested_udt_expansion_bomb_is_refused() -> None:
    def udt(level: int) -> dict[str, Any]:
        members = [{"name": f"m{i}", "tagType": "UdtInstance", "typeId": f"T{level + 1}"} for i in range(10)]
        return {"name": f"T{level}", "tagType": "UdtType", "tags": members if level < 9 else [tag(name="x")]}

    types = {"name": "_types_", "tagType": "Folder", "tags": [udt(level) for level in range(10)]}
    document = {"tags": [types, {"name": "i", "tagType": "UdtInstance", "typeId": "T0"}]}
    tree = ignition.parse(json.dumps(document).encode())
    with pytest.raises(ContentError, match="expands to more than 1000000 tag paths"):
        ignition.tag_paths(tree)
