"""Ignition rules that need more than one tag at a time (issue 26): UDT type references resolved
the way a folder export writes them, ``{Param}`` references against the UDT's parameters, the
engineering range and the alarm setpoints inside it.

Pure: the walker hands over the raw tag objects it saw; nothing here reads files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.formats._common import brief, finding, parse_number, show
from gatekeeper.formats.base import Finding
from gatekeeper.policy.codes import Code

UNDEFINED_TYPE = Code.IGNITION_UNDEFINED_TYPE
UNDEFINED_PARAM = Code.IGNITION_UNDEFINED_PARAM
ENG_RANGE_ORDER = Code.IGNITION_ENG_RANGE_ORDER
ALARM_OUTSIDE_RANGE = Code.IGNITION_ALARM_OUTSIDE_ENG_RANGE
OPC_INCOMPLETE = Code.IGNITION_OPC_INCOMPLETE
BUILT_IN_PARAMETERS = frozenset(name.casefold() for name in (
    "InstanceName", "ParentInstanceName", "PathToParentFolder", "PathToParentInstance", "RootInstanceName",
    "PathToRootInstance", "TypeName", "TagName", "PathToTag"))
"""Parameters every UDT instance has without declaring them (Ignition 8 UDT documentation; ``TagName`` and
``PathToTag``, the member's own name and path, from 7.9 on and still written by 8.1 gateways' exports)."""
PARAMETER_PROPS = frozenset({"opcItemPath", "opcServer", "sourceTagPath", "expression", "deviceName",
                             "documentation", "tooltip", "engUnit"})
"""Tag properties whose plain text Ignition substitutes ``{Param}`` in (scripts are code, not read)."""
SOURCE_PROPS: dict[str, frozenset[str]] = {
    "opcItemPath": frozenset({"opc"}), "opcServer": frozenset({"opc"}),
    "sourceTagPath": frozenset({"reference", "derived"}), "expression": frozenset({"expr"})}
"""Properties only one value source reads. Ignition keeps them when a member's value source changes
(an expression tag that was an OPC tag still carries its ``opcItemPath``), so a ``{Param}`` in one the
member's value source does not read never reaches a value: it is not checked."""
_REFERENCE = re.compile(r"\{([^{}\[\]/.\"':,;=()\s][^{}\[\]/\"':,;=()]*)\}")


@dataclass
class UdtDefinition:
    """One UDT type as the walker saw it: where, its own parameters, its parent type, the raw tag."""

    path: str
    location: str
    parent: str
    parameters: frozenset[str]
    """As written; compared regardless of case."""
    raw: dict[str, Any] = field(default_factory=dict)


def resolve(type_id: str, types: dict[str, Any]) -> str | None:
    """The key of ``types`` that ``type_id`` names: exact, else the one match on whole path segments
    either way, because a folder export writes paths relative to the exported folder (``Pumps/Motor``
    for a type exported as ``Motor``, or the reverse). ``None``: not defined, or ambiguous."""
    if type_id in types:
        return type_id
    folded = type_id.casefold()
    found = [key for key in types if key.casefold() == folded or key.casefold().endswith("/" + folded)
             or folded.endswith("/" + key.casefold())]
    return found[0] if len(found) == 1 else None


def undefined_types(path: str, instances: list[tuple[str, str, str]], types: dict[str, Any]) -> list[Finding]:
    """Instances whose type the export does not define (only when the export defines types at all)."""
    if not types:
        return []
    return [finding(path, where, "warning", f"UDT instance {instance}: type '{type_id}' is not defined in this "
                    "export", code=UNDEFINED_TYPE)
            for instance, type_id, where in instances if type_id and resolve(type_id, types) is None]


def parameters_of(type_key: str | None, definitions: dict[str, UdtDefinition], depth: int = 0) -> frozenset[str]:
    """A type's parameters with those it inherits from its parent type (casefolded)."""
    definition = definitions.get(type_key or "")
    if definition is None or depth > 20:
        return frozenset()
    parent = resolve(definition.parent, definitions) if definition.parent else None
    own = frozenset(name.casefold() for name in definition.parameters)
    return own | parameters_of(parent, definitions, depth + 1)


def undefined_parameters(path: str, definitions: dict[str, UdtDefinition]) -> list[Finding]:
    """``{Nodee}`` in a member of a UDT whose parameters are ``Node``: every instance reads bad quality."""
    found: list[Finding] = []
    for key, definition in definitions.items():
        known = parameters_of(key, definitions) | BUILT_IN_PARAMETERS
        for member, where, name in _references(definition.raw, definition.location, ""):
            if name.casefold() not in known:
                declared = ", ".join(sorted(definition.parameters)) or "none"
                found.append(finding(path, where, "error", f"UDT type {definition.path}: {member or 'the type'} "
                                     f"refers to parameter {{{name}}}, which the type does not define "
                                     f"(its parameters: {declared}); every instance would read bad quality",
                                     code=UNDEFINED_PARAM))
    return found


def _references(tag: dict[str, Any], where: str, member: str) -> list[tuple[str, str, str]]:
    """(member path, location, parameter name) of each ``{Param}`` in a type's own members; a nested
    UDT instance's own members belong to its type and are checked there."""
    out: list[tuple[str, str, str]] = []
    source = tag.get("valueSource")
    for key, value in tag.items():
        if key in ("tags", "name", "eventScripts", "parameters") and not (key == "parameters" and member):
            continue
        if isinstance(source, str) and key in SOURCE_PROPS and source not in SOURCE_PROPS[key]:
            continue
        for text in _texts(key, value):
            out.extend((member, where, name) for name in _REFERENCE.findall(text))
    children = tag.get("tags")
    for index, sub in enumerate(children if isinstance(children, list) else []):
        if isinstance(sub, dict) and isinstance(sub.get("name"), str):
            sub_member = f"{member}/{sub['name']}" if member else sub["name"]
            if sub.get("tagType") == "UdtInstance":
                params = sub.get("parameters")
                out.extend(_references({"parameters": params}, f"{where}.tags[{index}]", sub_member)
                           if isinstance(params, dict) else [])
                continue
            out.extend(_references(sub, f"{where}.tags[{index}]", sub_member))
    return out


def _texts(key: str, value: Any) -> list[str]:
    """Texts Ignition substitutes parameters in: parameter bindings anywhere, and plain text of
    :data:`PARAMETER_PROPS`; alarm properties likewise."""
    if isinstance(value, dict) and value.get("bindType") == "parameter" and isinstance(value.get("binding"), str):
        return [value["binding"]]
    if isinstance(value, str) and key in PARAMETER_PROPS:
        return [value]
    if isinstance(value, dict):
        return [text for sub_key, sub in value.items() for text in _texts(sub_key, sub)]
    if isinstance(value, list) and key in ("alarms", "parameters"):
        return [text for item in value if isinstance(item, dict) for sub_key, sub in item.items()
                for text in _texts(sub_key, sub)]
    return []


def ranges(path: str, tag_path: str, tag: dict[str, Any], where: str, inherited: bool) -> list[Finding]:
    """engLow ≤ engHigh; OPC tags name a server and an item path; alarm setpoints inside the range."""
    found: list[Finding] = []
    low, high = _number(tag.get("engLow")), _number(tag.get("engHigh"))
    if low is not None and high is not None and low > high:
        found.append(finding(path, where, "error", f"tag {tag_path}: engLow {low:g} is above engHigh {high:g}",
                             code=ENG_RANGE_ORDER))
    if tag.get("valueSource") == "opc" and not inherited:
        missing = [prop for prop in ("opcServer", "opcItemPath") if not _given(tag.get(prop))]
        if missing:
            found.append(finding(path, where, "error", f"tag {tag_path}: OPC tag without "
                                 f"{' and '.join(missing)}; it cannot read a value", code=OPC_INCOMPLETE))
    alarms = tag.get("alarms")
    if low is None or high is None or low > high or not isinstance(alarms, list):
        return found
    for index, alarm in enumerate(alarms):
        for key in ("setpointA", "setpointB"):
            value = _number(alarm.get(key)) if isinstance(alarm, dict) else None
            if value is not None and not low <= value <= high:
                found.append(finding(path, f"{where}.alarms[{index}]", "warning", f"alarm {alarm.get('name')} on "
                                     f"{tag_path}: setpoint {value:g} is outside the engineering range "
                                     f"{low:g}…{high:g}", code=ALARM_OUTSIDE_RANGE))
    return found


def _given(value: Any) -> bool:
    return isinstance(value, dict) or (value is not None and bool(show(value).strip()))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, dict):
        return None
    return parse_number(brief(show(value)))
