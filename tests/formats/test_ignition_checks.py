"""Ignition rules of issue 26: type references of folder exports, ``{Param}`` references against the
UDT's parameters, UDT definition members are no live tags, the provider's own settings are compared."""

from __future__ import annotations

import json
from typing import Any

from gatekeeper.formats import ignition
from tests.formats.fixtures import read


def messages(document: Any) -> list[str]:
    return [f"{f.severity}: {f.message}" for f in ignition.validate("t.json", json.dumps(document).encode())]


def udt(name: str, parameters: dict[str, Any], *members: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"name": name, "tagType": "UdtType", "parameters": parameters, "tags": list(members), **props}


OPC = {"name": "Speed", "tagType": "AtomicTag", "valueSource": "opc", "opcServer": "Ignition OPC UA Server",
       "opcItemPath": {"bindType": "parameter", "binding": "ns=1;s={Node}.Speed"}}


def test_a_misspelt_parameter_reference_is_an_error() -> None:
    member = {**OPC, "opcItemPath": {"bindType": "parameter", "binding": "ns=1;s={Nodee}.Speed"}}
    types = {"name": "_types_", "tagType": "Folder", "tags": [udt("Motor", {"Node": {"dataType": "String"}}, member)]}
    assert messages({"tags": [types]}) == [
        "error: UDT type _types_/Motor: Speed refers to parameter {Nodee}, which the type does not define "
        "(its parameters: Node); every instance would read bad quality"]


def test_declared_inherited_and_built_in_parameters_are_known() -> None:
    base = udt("Base", {"Node": ""})
    child = udt("Child", {}, OPC, {"name": "Label", "tagType": "AtomicTag", "valueSource": "expr",
                                   "expression": "'{InstanceName}' + {[.]Speed}"}, typeId="Base")
    assert messages({"tags": [{"name": "_types_", "tagType": "Folder", "tags": [base, child]}]}) == []


def test_a_folder_export_resolves_types_relative_to_the_exported_folder() -> None:
    """Exported from ``_types_/Pumps``: the file defines ``Motor``, instances say ``Pumps/Motor``."""
    folder = [udt("Motor", {"Node": ""}, OPC), {"name": "M1", "tagType": "UdtInstance", "typeId": "Pumps/Motor"}]
    assert messages(folder) == []
    assert messages([*folder, {"name": "M2", "tagType": "UdtInstance", "typeId": "Pumps/Valve"}]) == [
        "warning: UDT instance M2: type 'Pumps/Valve' is not defined in this export"]


def test_members_of_a_udt_definition_are_not_live_tags() -> None:
    """A UDT definition exported on its own: its members hold no value, an ERP mapping cannot post them."""
    tree = ignition.parse(json.dumps([udt("Motor", {"Node": ""}, OPC),
                                      {"name": "M1", "tagType": "UdtInstance", "typeId": "Motor"}]).encode())
    assert ignition.tag_paths(tree) == {"M1/Speed"}


def test_the_providers_own_settings_are_compared() -> None:
    old = read("ignition/full-tag-export.json")
    document = json.loads(old)
    document["name"] = "edge"
    [change] = ignition.diff("t.json", old, json.dumps(document).encode())
    assert change.text.startswith("provider edge name ")
