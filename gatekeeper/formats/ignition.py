"""Ignition tag exports (JSON, Ignition 8): folders, UDT types and instances, atomic tags, alarms.

Tag paths are the ``name``s from the provider root joined by ``/`` (provider left out), as an
ERP mapping names them. Every tag property is compared, known or not; alarms are compared by
name, so "alarm High on TT-101 setpoint 85 → 90" reads the way an approver thinks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gatekeeper.formats._common import (
    NO_CONTEXT,
    ContentError,
    Element,
    brief,
    compare,
    describe_plain,
    finding,
    flatten,
    load_json,
    parse_number,
    show,
    summary_of,
    validate_with,
)
from gatekeeper.formats.base import Context, Finding, SemanticChange
from gatekeeper.formats.ignition_checks import (
    UdtDefinition,
    ranges,
    resolve,
    undefined_parameters,
    undefined_types,
)

WHAT = "ignition-tags"
TYPES_FOLDER = "_types_"
DATA_TYPES = frozenset({"Int1", "Int2", "Int4", "Int8", "Float4", "Float8", "Boolean", "String", "DateTime",
                        "Text", "Document", "DataSet", "Int1Array", "Int2Array", "Int4Array", "Int8Array",
                        "Float4Array", "Float8Array", "BooleanArray", "StringArray", "DateTimeArray",
                        "ByteArray"})
TAG_TYPES = frozenset({"Provider", "Folder", "AtomicTag", "UdtType", "UdtInstance"})
PRIORITIES = frozenset({"Diagnostic", "Low", "Medium", "High", "Critical", "0", "1", "2", "3", "4"})
KINDS = {"AtomicTag": "tag", "Folder": "folder", "UdtType": "UDT type", "UdtInstance": "UDT instance"}
FINANCIAL_PROPS = frozenset({"scaleMode", "rawLow", "rawHigh", "scaledLow", "scaledHigh", "scaleFactor",
                             "engUnit", "clampMode", "deadband"})
"""Properties that change the quantity a tag reports, hence what an ERP posting books."""
LABELS = {"setpointA": "setpoint", "setpointB": "setpoint B"}
MAX_TAG_PATHS = 1_000_000
"""More tag paths than any plant has; beyond it an export is treated as a UDT expansion bomb."""


@dataclass
class TagTree:
    elements: dict[str, Element] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)
    atomic: list[str] = field(default_factory=list)
    instances: list[tuple[str, str]] = field(default_factory=list)  # (instance path, typeId)
    types: dict[str, tuple[str, list[str], list[tuple[str, str]]]] = field(default_factory=dict)
    """UDT type path (below ``_types_``) → (parent typeId, member tags, nested (member, typeId))."""
    definitions: dict[str, UdtDefinition] = field(default_factory=dict)


def parse(data: bytes, path: str = "") -> TagTree:
    document = load_json(data, WHAT)
    tree = TagTree()
    _Walker(tree, path).root(document)
    return tree


def validate(path: str, data: bytes, context: Context = NO_CONTEXT) -> list[Finding]:
    return validate_with(parse, check, path, data, context)


def diff(path: str, old: bytes, new: bytes) -> list[SemanticChange]:
    return changes(parse(old, path), parse(new, path))


def check(path: str, tree: TagTree, context: Context = NO_CONTEXT) -> list[Finding]:
    """Problems found while walking, plus UDT instances whose type the export does not define."""
    found = list(tree.problems)
    instances = [(instance, type_id, tree.elements[instance].location) for instance, type_id in tree.instances]
    found.extend(undefined_types(path, instances, tree.types))
    found.extend(undefined_parameters(path, tree.definitions))
    return found


def changes(old: TagTree | None, new: TagTree | None) -> list[SemanticChange]:
    return compare(old.elements if old else {}, new.elements if new else {}, _describe,
                   lambda e: summary_of(e, ("dataType", "valueSource", "opcItemPath", "expression",
                                            "mode", "setpointA", "priority", "typeId"), LABELS),
                   lambda e: any(e.props.get(prop) for prop in FINANCIAL_PROPS))


def _describe(element: Element, prop: str, old: str | None, new: str | None) -> tuple[str, bool]:
    text, _ = describe_plain(element, _label(prop), old, new)
    return text, prop in FINANCIAL_PROPS


def _label(prop: str) -> str:
    """``parameters.Provider.value`` (a UDT parameter as exports nest it) → ``parameter Provider``;
    ``parameters.Provider.dataType`` → ``parameter Provider dataType``; others as :data:`LABELS` says."""
    if prop.startswith("parameters."):
        name, _, rest = prop.removeprefix("parameters.").partition(".")
        rest = "" if rest == "value" else rest.removeprefix("value.")
        return f"parameter {name} {rest}".rstrip()
    return LABELS.get(prop, prop)


def tag_paths(tree: TagTree) -> set[str]:
    """Tag paths of real tags (not UDT definitions), with UDT members the export leaves implicit.

    Nested UDTs multiply like an entity bomb, so expansion stops at :data:`MAX_TAG_PATHS`."""
    paths = set(tree.atomic)
    memo: dict[str, frozenset[str]] = {}
    for instance, type_id in tree.instances:
        paths.update(f"{instance}/{member}" for member in _members(tree, type_id, 0, memo))
        if len(paths) > MAX_TAG_PATHS:
            raise ContentError(f"UDT instances expand to more than {MAX_TAG_PATHS} tag paths")
    return paths


def tag_facts(tree: TagTree) -> dict[str, tuple[str, str]]:
    """Tag path → (dataType, engUnit) as configured; a UDT member without its own value takes the
    one its type definition gives (through nested and inherited types). '' where none is set."""
    return {path: (_prop(tree, path, "dataType", 0), _prop(tree, path, "engUnit", 0))
            for path in tag_paths(tree)}


def _prop(tree: TagTree, path: str, prop: str, depth: int) -> str:
    element = tree.elements.get(path)
    if element is not None and element.props.get(prop):
        return element.props[prop]
    if depth > 20:  # a type cycle: stop
        return ""
    parts = path.split("/")
    for cut in range(len(parts) - 1, 0, -1):
        ancestor = tree.elements.get("/".join(parts[:cut]))
        if ancestor is not None and ancestor.kind in ("UDT instance", "UDT type") and ancestor.props.get("typeId"):
            member = "/".join(parts[cut:])
            type_key = resolve(ancestor.props["typeId"], tree.types) or ancestor.props["typeId"]
            return _prop(tree, f"{TYPES_FOLDER}/{type_key}/{member}", prop, depth + 1)
    return ""


def _members(tree: TagTree, type_id: str, depth: int, memo: dict[str, frozenset[str]]) -> frozenset[str]:
    if type_id in memo:
        return memo[type_id]
    resolved = resolve(type_id, tree.types) if type_id else None
    if resolved is None or depth > 20:  # undefined, a cycle or absurd nesting: stop expanding
        return frozenset()
    type_id = resolved
    parent, atomic, nested = tree.types[type_id]
    members = set(atomic) | _members(tree, parent, depth + 1, memo)
    for member, member_type in nested:
        subs = _members(tree, member_type, depth + 1, memo)
        if len(members) + len(subs) > MAX_TAG_PATHS:  # checked before building the strings
            raise ContentError(f"UDT type {type_id} expands to more than {MAX_TAG_PATHS} tag paths")
        members.update(f"{member}/{sub}" for sub in subs)
    memo[type_id] = frozenset(members)
    return memo[type_id]


class _Walker:
    def __init__(self, tree: TagTree, path: str) -> None:
        self.tree, self.path = tree, path
        self.seen: dict[str, str] = {}  # casefolded tag path → as written (Ignition ignores case)

    def root(self, document: Any) -> None:
        if isinstance(document, list):
            self._children(document, "", "$", False)
        elif isinstance(document, dict) and (document.get("tagType") == "Provider" or "name" not in document):
            props = flatten({key: value for key, value in document.items() if key not in ("tags", "tagType")})
            if props:  # the provider's own settings (its name too): compared like any tag's
                self.tree.elements["(provider)"] = Element("provider", show(document.get("name", "")) or "(root)",
                                                           props, "$")
            self._children(document.get("tags", []), "", "$.tags", False)
        elif isinstance(document, dict):
            self._tag(document, "", "$", False)
        else:
            raise ContentError("not an Ignition tag export: expected a JSON object with \"tags\"")

    def _children(self, tags: Any, parent: str, where: str, inherited: bool, in_type: bool = False) -> None:
        if not isinstance(tags, list):
            self._problem(where, "\"tags\" must be a list")
            return
        for index, tag in enumerate(tags):
            self._tag(tag, parent, f"{where}[{index}]", inherited, in_type)

    def _tag(self, tag: Any, parent: str, where: str, inherited: bool, in_type: bool = False) -> None:
        """``inherited``: inside a UDT type or instance (values may come from the type);
        ``in_type``: inside a UDT definition, whose members hold no live value."""
        if not isinstance(tag, dict):
            self._problem(where, "tag entry must be a JSON object")
            return
        name, tag_type = tag.get("name"), show(tag.get("tagType", "AtomicTag"))
        if not isinstance(name, str) or not name.strip():
            self._problem(where, f"tag without name (tagType {tag_type}) in {parent or 'the root folder'}")
            return
        path = f"{parent}/{name}" if parent else name
        if "/" in name or "[" in name or "]" in name:
            self._problem(where, f"tag name '{name}' contains a character not allowed in tag paths")
        if path.casefold() in self.seen:
            self._problem(where, f"duplicate tag path {path}")
            return
        self.seen[path.casefold()] = path
        props = flatten({key: value for key, value in tag.items() if key not in ("name", "tags", "alarms")})
        element = Element(KINDS.get(tag_type, tag_type), path, props, where)
        self.tree.elements[path] = element
        self._check_props(element, tag, tag_type, inherited)
        self._alarms(tag.get("alarms"), path, where)
        in_types = in_type or path == TYPES_FOLDER or path.startswith(TYPES_FOLDER + "/") or tag_type == "UdtType"
        if tag_type == "AtomicTag" and not in_types:
            self.tree.atomic.append(path)
        elif tag_type == "UdtInstance" and not in_types:
            self.tree.instances.append((path, show(tag.get("typeId", ""))))
        elif tag_type == "UdtType":
            self._udt_type(tag, path, where)
        self._children(tag.get("tags", []), path, f"{where}.tags",
                       inherited or tag_type in ("UdtType", "UdtInstance"), in_types)

    def _udt_type(self, tag: dict[str, Any], path: str, where: str) -> None:
        atomic: list[str] = []
        nested: list[tuple[str, str]] = []
        stack: list[tuple[Any, str]] = [(tag, "")]
        while stack:
            node, prefix = stack.pop()
            members = node.get("tags")
            for member in members if isinstance(members, list) else []:
                name = member.get("name") if isinstance(member, dict) else None
                if not isinstance(name, str):
                    continue
                member_path = f"{prefix}{name}"
                if member.get("tagType") == "UdtInstance":
                    nested.append((member_path, show(member.get("typeId", ""))))
                elif member.get("tagType", "AtomicTag") == "AtomicTag":
                    atomic.append(member_path)
                stack.append((member, member_path + "/"))
        type_path = path.removeprefix(TYPES_FOLDER + "/")
        self.tree.types[type_path] = (show(tag.get("typeId", "")), atomic, nested)
        parameters = tag.get("parameters")
        names = frozenset(str(name) for name in parameters) if isinstance(parameters, dict) else frozenset()
        self.tree.definitions[type_path] = UdtDefinition(path, where, show(tag.get("typeId", "")), names, tag)

    def _check_props(self, element: Element, tag: dict[str, Any], tag_type: str, inherited: bool) -> None:
        where, path = element.location, element.name
        if tag_type not in TAG_TYPES:
            self._problem(where, f"tag {path}: unknown tagType '{tag_type}'", "warning")
        data_type = tag.get("dataType")
        if isinstance(data_type, str) and data_type not in DATA_TYPES:
            self._problem(where, f"tag {path}: unknown dataType '{data_type}'")
        source = tag.get("valueSource")
        self.tree.problems.extend(ranges(self.path, path, tag, where, inherited))
        if not inherited and source == "expr" and not tag.get("expression"):
            self._problem(where, f"tag {path}: expression tag without expression", "warning")
        if tag.get("scaleMode") == "Linear" and "rawLow" in tag and tag.get("rawLow") == tag.get("rawHigh"):
            self._problem(where, f"tag {path}: linear scaling with rawLow = rawHigh ({show(tag['rawLow'])})")

    def _alarms(self, alarms: Any, path: str, where: str) -> None:
        if alarms is None:
            return
        if not isinstance(alarms, list):
            self._problem(where, f"tag {path}: \"alarms\" must be a list")
            return
        names: set[str] = set()
        for index, alarm in enumerate(alarms):
            at = f"{where}.alarms[{index}]"
            name = alarm.get("name") if isinstance(alarm, dict) else None
            if not isinstance(alarm, dict) or not isinstance(name, str) or not name:
                self._problem(at, f"alarm without name on tag {path}")
                continue
            if name in names:
                self._problem(at, f"duplicate alarm {name} on tag {path}")
                continue
            names.add(name)
            self.tree.elements[f"{path}#alarm:{name}"] = Element(
                "alarm", f"{name} on {path}", flatten({k: v for k, v in alarm.items() if k != "name"}), at)
            for key in ("setpointA", "setpointB"):
                value = alarm.get(key)
                if isinstance(value, bool) or (isinstance(value, str) and parse_number(value) is None):
                    self._problem(at, f"alarm {name} on {path}: {LABELS[key]} {brief(show(value))} "
                                      "is not a number")
            priority = alarm.get("priority")
            if priority is not None and not isinstance(priority, dict) and show(priority) not in PRIORITIES:
                self._problem(at, f"alarm {name} on {path}: unknown priority {brief(show(priority))}",
                              "warning")

    def _problem(self, where: str, message: str, severity: str = "error") -> None:
        self.tree.problems.append(finding(self.path, where, "warning" if severity == "warning" else "error",
                                          message))
