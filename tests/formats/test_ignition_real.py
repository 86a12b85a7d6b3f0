"""Ignition exports from a real Ignition 8 gateway (tests/fixtures/formats/README.md): a realistic edit reads as
one line per change, and the two rules these files taught (built-in ``{TagName}``, properties of a value
source the member does not use) hold both ways."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gatekeeper.formats import ignition
from tests.formats.fixtures import read

PROVIDER = "ignition/gh-provider-export.json"
MES = "ignition/mes-udt-types.json"
DEFAULT = "ignition/default-udt-types.json"


def find(document: dict[str, Any], path: str) -> dict[str, Any]:
    node = document
    for name in path.split("/"):
        node = next(tag for tag in node["tags"] if tag["name"] == name)
    return node


def edited(name: str, edit: Callable[[dict[str, Any]], None]) -> tuple[bytes, bytes]:
    old = read(name)
    document = json.loads(old)
    edit(document)
    return old, json.dumps(document, indent=2).encode()


def texts(old: bytes, new: bytes) -> list[str]:
    return [change.text for change in ignition.diff("tags.json", old, new)]


def test_a_provider_export_reads_a_udt_parameter_and_a_member_expression() -> None:
    def edit(document: dict[str, Any]) -> None:
        find(document, "_types_/GPA/Gateway")["parameters"]["Provider"]["value"] = "Edge"
        member = find(document, "_types_/GPA/Gateway/Alarming/Active and Acked")
        member["expression"] = member["expression"].replace("Alarming/", "Alarms/")

    assert texts(*edited(PROVIDER, edit)) == [
        "UDT type _types_/GPA/Gateway parameter Provider System → Edge",
        "tag _types_/GPA/Gateway/Alarming/Active and Acked expression "
        "Tag('[System]Gateway/Alarming/'+{TagName}) → Tag('[System]Gateway/Alarms/'+{TagName})"]


def test_a_types_folder_export_reads_an_added_alarm_and_a_format_change() -> None:
    def edit(document: dict[str, Any]) -> None:
        find(document, "GPA/OEE/OEE")["alarms"] = [
            {"name": "Below target", "mode": "BelowValue", "setpointA": 0.6, "priority": "Medium"}]
        find(document, "GPA/OEE/Availability")["formatString"] = "#,##0.00"

    old, new = edited(MES, edit)
    assert texts(old, new) == [
        "tag _types_/GPA/OEE/Availability formatString #,##0.0000 → #,##0.00",
        "alarm Below target on _types_/GPA/OEE/OEE added (mode BelowValue, setpoint 0.6, priority Medium)"]
    assert ignition.validate("tags.json", new) == []


def test_a_leftover_opc_path_counts_once_the_member_reads_opc_again() -> None:
    """``state`` is a reference tag that still carries an OPC path naming ``{device}``, which its type
    does not define: harmless until the member is switched back to OPC."""
    member = "GPA/OEE/OEE_Events_Cell_REF/state"

    def to_opc(document: dict[str, Any]) -> None:
        find(document, member)["valueSource"] = "opc"

    old, new = edited(DEFAULT, to_opc)
    assert ignition.validate("tags.json", old) == []
    assert texts(old, new) == [f"tag _types_/{member} valueSource reference → opc"]
    found = ignition.validate("tags.json", new)
    assert {(f.severity, f.code) for f in found} == {("error", "ignition.undefined_param")}
    assert "refers to parameter {device}, which the type does not define" in found[0].message
    assert "{TagName}" not in " ".join(f.message for f in found)
