"""PLCopen TC6 XML (IEC 61131-3 projects, e.g. Beremiz, CODESYS exports): POUs, their interface
variables with types and initial values, data types, configurations, resources and tasks.

Elements are keyed by IEC name (case-insensitive, as IEC 61131-3 identifiers are); bodies are
compared as code (ST/IL) or as layout-free graphics (FBD/LD/SFC), so moving a block on screen is
not reported but rewiring it is.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field

from gatekeeper.formats._common import (
    NO_CONTEXT,
    ContentError,
    Element,
    brief,
    compare,
    describe_plain,
    finding,
    validate_with,
)
from gatekeeper.formats._xml import XmlDoc, child, children, local, parse_xml, text_of
from gatekeeper.formats.base import Context, Finding, SemanticChange

WHAT = "plcopen-xml"
POU_TYPES = frozenset({"function", "functionBlock", "program"})
SECTIONS = ("inputVars", "outputVars", "inOutVars", "localVars", "tempVars", "externalVars", "globalVars",
            "accessVars")
INTEGERS = {"SINT": (-2**7, 2**7 - 1), "INT": (-2**15, 2**15 - 1), "DINT": (-2**31, 2**31 - 1),
            "LINT": (-2**63, 2**63 - 1), "USINT": (0, 2**8 - 1), "UINT": (0, 2**16 - 1),
            "UDINT": (0, 2**32 - 1), "ULINT": (0, 2**64 - 1), "BYTE": (0, 2**8 - 1), "WORD": (0, 2**16 - 1),
            "DWORD": (0, 2**32 - 1), "LWORD": (0, 2**64 - 1)}
REALS = frozenset({"REAL", "LREAL"})
STANDARD_BLOCKS = frozenset({"TON", "TOF", "TP", "CTU", "CTD", "CTUD", "R_TRIG", "F_TRIG", "SR", "RS", "RTC",
                             "SEMA", "TIME", "DATE", "TOD", "DT", "STRING", "WSTRING"})
GRAPHICAL = frozenset({"FBD", "LD", "SFC"})
LAYOUT = frozenset({"position", "relPosition"})
KNOWN_PARTS = frozenset({"types", "instances", "contentHeader", "dataTypes", "pous", "configurations"})
"""Project parts compared element by element; any other part is compared as a whole."""
_INT_LITERAL = re.compile(r"(?:[A-Z]+#)?([+-]?)(?:(2|8|16)#([0-9A-F_]+)|([0-9][0-9_]*))", re.I)
_REAL_LITERAL = re.compile(r"(?:L?REAL#)?[+-]?[0-9][0-9_]*(\.[0-9_]+)?([eE][+-]?[0-9]+)?", re.I)


@dataclass
class Project:
    elements: dict[str, Element] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)


def parse(data: bytes, path: str = "") -> Project:
    doc = parse_xml(data, WHAT)
    if local(doc.root.tag) != "project":
        raise ContentError(f"not a PLCopen XML project: root element is {local(doc.root.tag)}, "
                           "expected project", doc.where(doc.root))
    return _Reader(doc, path).read()


def validate(path: str, data: bytes, context: Context = NO_CONTEXT) -> list[Finding]:
    return validate_with(parse, check, path, data, context)


def diff(path: str, old: bytes, new: bytes) -> list[SemanticChange]:
    return changes(parse(old, path), parse(new, path))


def check(path: str, project: Project, context: Context = NO_CONTEXT) -> list[Finding]:
    return list(project.problems)


def changes(old: Project | None, new: Project | None) -> list[SemanticChange]:
    return compare(old.elements if old else {}, new.elements if new else {}, _describe, _summary)


def _describe(element: Element, prop: str, old: str | None, new: str | None) -> tuple[str, bool]:
    if prop.startswith("body") and old is not None and new is not None:
        if prop == "body (ST)" or prop == "body (IL)":
            before, after = old.splitlines(), new.splitlines()
            added = sum((Counter(after) - Counter(before)).values())
            removed = sum((Counter(before) - Counter(after)).values())
            return f"{element.kind} {element.name} {prop} changed (+{added} −{removed} lines)", False
        return f"{element.kind} {element.name} {prop} changed", False
    return describe_plain(element, prop, old, new)


def _summary(element: Element) -> str:
    parts = [f"{key} {brief(element.props[key])}" for key in ("pouType", "type", "initial", "interval")
             if element.props.get(key)]
    return f" ({', '.join(parts)})" if parts else ""


def type_text(holder: ET.Element | None) -> str:
    """IEC notation of a ``<type>``/``<baseType>``: ``INT``, ``CounterST``, ``ARRAY [0..9] OF REAL``."""
    kind = next(iter(holder), None) if holder is not None else None
    if kind is None:
        return ""
    name = local(kind.tag)
    if name == "derived":
        return kind.get("name", "")
    if name in ("string", "wstring"):
        return name.upper() + (f"[{kind.get('length')}]" if kind.get("length") else "")
    if name == "array":
        ranges = ", ".join(f"{d.get('lower')}..{d.get('upper')}" for d in children(kind, "dimension"))
        return f"ARRAY [{ranges}] OF {type_text(child(kind, 'baseType'))}"
    if name == "pointer":
        return f"POINTER TO {type_text(child(kind, 'baseType'))}"
    if name in ("subrangeSigned", "subrangeUnsigned"):
        bounds = child(kind, "range")
        low, high = (bounds.get("lower"), bounds.get("upper")) if bounds is not None else ("?", "?")
        return f"{type_text(child(kind, 'baseType'))} ({low}..{high})"
    if name == "enum":
        values = child(kind, "values")
        return "(" + ", ".join(v.get("name", "") for v in (values if values is not None else [])) + ")"
    if name == "struct":
        members = "; ".join(f"{v.get('name')}: {type_text(child(v, 'type'))}"
                            for v in children(kind, "variable"))
        return f"STRUCT ({members})"
    return name


def value_text(holder: ET.Element | None) -> str:
    """IEC notation of an ``<initialValue>``: ``5.0``, ``[1, 2, 3(0)]``, ``(a := 1, b := 2)``."""
    value = next(iter(holder), None) if holder is not None else None
    if value is None:
        return ""
    name = local(value.tag)
    if name == "simpleValue":
        return value.get("value", "")
    if name == "arrayValue":
        items = [(v.get("repetitionValue"), value_text(v)) for v in children(value, "value")]
        return "[" + ", ".join(f"{rep}({text})" if rep else text for rep, text in items) + "]"
    if name == "structValue":
        members = (f"{v.get('member')} := {value_text(v)}" for v in children(value, "value"))
        return "(" + ", ".join(members) + ")"
    return ET.tostring(value, encoding="unicode")


def literal_fits(type_name: str, literal: str) -> bool:
    """Whether an initial value is a valid IEC literal of an elementary type (others: not checked)."""
    upper, text = type_name.upper(), literal.strip()
    if upper == "BOOL":
        return text.upper() in ("TRUE", "FALSE", "0", "1", "BOOL#TRUE", "BOOL#FALSE", "BOOL#0", "BOOL#1")
    if upper in INTEGERS:
        match = _INT_LITERAL.fullmatch(text)
        if not match:
            return False
        sign, base, digits, decimal = match.groups()
        try:
            number = int((digits or decimal).replace("_", ""), int(base or 10))
        except ValueError:
            return False
        low, high = INTEGERS[upper]
        return low <= (-number if sign == "-" else number) <= high
    if upper in REALS:
        return bool(_REAL_LITERAL.fullmatch(text))
    if upper in ("TIME", "LTIME"):
        return text.upper().startswith(("T#", "TIME#", "LTIME#", "LT#"))
    return True


class _Reader:
    def __init__(self, doc: XmlDoc, path: str) -> None:
        self.doc, self.path = doc, path
        self.project = Project()
        self.keys: set[str] = set()
        self.types: set[str] = set()
        self.programs: set[str] = set()
        self.globals: set[str] = set()
        self.externals: list[tuple[str, ET.Element]] = []
        self.derived: list[tuple[str, str, ET.Element]] = []  # (owner text, type name, element)

    def read(self) -> Project:
        root = self.doc.root
        header = child(root, "contentHeader")
        attributes = dict(header.attrib) if header is not None else {}
        name = attributes.pop("name", "")
        props = {f"@{k}": v for k, v in attributes.items()}
        containers = [root, *(part for part in root if local(part.tag) in KNOWN_PARTS)]
        for part in (part for container in containers for part in container):
            if local(part.tag) not in KNOWN_PARTS:  # shown generically, never dropped
                props[local(part.tag)] = _canonical(part)
        self._add("project", "project", name, props, root)
        for data_type in root.iter():
            if local(data_type.tag) == "dataType":
                self._data_type(data_type)
        pous = [pou for pou in root.iter() if local(pou.tag) == "pou"]
        self.types.update(pou.get("name", "").casefold() for pou in pous)
        for configuration in (e for e in root.iter() if local(e.tag) == "configuration"):
            self._configuration(configuration)
        for pou in pous:
            self._pou(pou)
        for owner, type_name, where in self.derived:
            if type_name.casefold() not in self.types and type_name.upper() not in STANDARD_BLOCKS:
                self._problem(where, f"{owner}: type {type_name} is not defined in this project", "warning")
        for owner, where in self.externals:
            name = owner.rpartition(" variable ")[2]
            if self.globals and name.casefold() not in self.globals:
                self._problem(where, f"{owner}: no global variable {name} in any configuration", "warning")
        return self.project

    def _add(self, key: str, kind: str, name: str, props: dict[str, str], xml: ET.Element) -> Element | None:
        folded = key.casefold()
        if folded in self.keys:
            self._problem(xml, f"duplicate {kind} {name}".replace("  ", " ").strip())
            return None
        self.keys.add(folded)
        element = Element(kind, name, props, self.doc.where(xml))
        self.project.elements[key] = element
        return element

    def _data_type(self, xml: ET.Element) -> None:
        name = xml.get("name", "")
        if not name:
            self._problem(xml, "data type without name")
            return
        self.types.add(name.casefold())
        props = {"type": type_text(child(xml, "baseType")), "initial": value_text(child(xml, "initialValue"))}
        self._add(f"type:{name}", "data type", name, {k: v for k, v in props.items() if v}, xml)

    def _pou(self, xml: ET.Element) -> None:
        name, pou_type = xml.get("name", ""), xml.get("pouType", "")
        if not name:
            self._problem(xml, "POU without name")
            return
        if pou_type not in POU_TYPES:
            self._problem(xml, f"POU {name}: unknown pouType '{pou_type}' "
                          "(function, functionBlock or program)")
        interface = child(xml, "interface")
        props = {"pouType": pou_type, **{f"@{k}": v for k, v in xml.attrib.items()
                                         if k not in ("name", "pouType")}}
        if interface is not None and child(interface, "returnType") is not None:
            props["returnType"] = type_text(child(interface, "returnType"))
        elif pou_type == "function":
            self._problem(xml, f"POU {name}: function without returnType")
        for part in xml:
            part_name = local(part.tag)
            if part_name == "body":
                for language in part:
                    props[f"body ({local(language.tag)})"] = _body_text(language)
            elif part_name != "interface":
                props[part_name] = _canonical(part)
        if self._add(f"pou:{name}", "POU", name, props, xml) is None:
            return
        self._variables(interface, f"pou:{name}", f"POU {name}")

    def _variables(self, holder: ET.Element | None, key: str, owner: str, is_global: bool = False) -> None:
        for section in holder if holder is not None else []:
            section_name = local(section.tag)
            if section_name not in SECTIONS:
                continue
            flags = {k: v for k, v in section.attrib.items() if k in ("constant", "retain", "nonretain",
                                                                      "persistent")}
            for variable in children(section, "variable"):
                self._variable(variable, key, owner, section_name, flags, is_global)

    def _variable(self, xml: ET.Element, key: str, owner: str, section: str, flags: dict[str, str],
                  is_global: bool) -> None:
        name = xml.get("name", "")
        if not name:
            self._problem(xml, f"{owner}: variable without name in {section}")
            return
        kind = f"{owner} variable"
        type_holder = child(xml, "type")
        type_name, initial = type_text(type_holder), value_text(child(xml, "initialValue"))
        props = {"section": section, "type": type_name, **flags}
        if initial:
            props["initial"] = initial
        if xml.get("address"):
            props["address"] = xml.get("address", "")
        for part in xml:
            if local(part.tag) == "documentation":
                props["documentation"] = " ".join("".join(part.itertext()).split())
            elif local(part.tag) not in ("type", "initialValue"):
                props[local(part.tag)] = _canonical(part)
        props.update({f"@{k}": v for k, v in xml.attrib.items() if k not in ("name", "address")})
        if self._add(f"{key}/var:{name}", kind, name, props, xml) is None:
            return
        if is_global:
            self.globals.add(name.casefold())
        if section == "externalVars":
            self.externals.append((f"{kind} {name}", xml))
        if not type_name:
            self._problem(xml, f"{kind} {name} has no type")
        elif type_holder is not None and local(next(iter(type_holder)).tag) == "derived":
            self.derived.append((f"{kind} {name}", type_name, xml))
        if initial and type_name and not literal_fits(type_name, initial):
            self._problem(xml, f"{kind} {name}: initial value {brief(initial)} is not a valid {type_name}")

    def _configuration(self, xml: ET.Element) -> None:
        name = xml.get("name", "")
        key = f"config:{name}"
        self._add(key, "configuration", name, {}, xml)
        self._variables(xml, key, f"configuration {name}", is_global=True)
        for resource in children(xml, "resource"):
            resource_key = f"{key}/resource:{resource.get('name', '')}"
            owner = f"resource {name}.{resource.get('name', '')}"
            self._add(resource_key, "resource", f"{name}.{resource.get('name', '')}",
                      {"@type": resource.get("type", "")} if resource.get("type") else {}, resource)
            self._variables(resource, resource_key, owner, is_global=True)
            for task in children(resource, "task"):
                self._add(f"{resource_key}/task:{task.get('name', '')}", "task", task.get("name", ""),
                          {k: v for k, v in task.attrib.items() if k != "name"}, task)
            for instance in (e for e in resource.iter() if local(e.tag) == "pouInstance"):
                self._add(f"{resource_key}/instance:{instance.get('name', '')}", "program instance",
                          instance.get("name", ""), {"typeName": instance.get("typeName", "")}, instance)
                self.programs.add(instance.get("typeName", ""))
        for type_name in self.programs:
            if type_name.casefold() not in self.types:
                self._problem(xml, f"configuration {name}: program instance of unknown POU {type_name}")
        self.programs.clear()

    def _problem(self, xml: ET.Element, message: str, severity: str = "error") -> None:
        self.project.problems.append(finding(self.path, self.doc.where(xml),
                                             "warning" if severity == "warning" else "error", message))


def _body_text(language: ET.Element) -> str:
    if local(language.tag) in GRAPHICAL:
        return _canonical(language)
    return "\n".join(line.rstrip() for line in "".join(language.itertext()).strip().splitlines())


def _canonical(xml: ET.Element) -> str:
    """Serialisation without layout (positions, sizes), so only semantic edits show as changes."""
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        if local(node.tag) in LAYOUT:
            return
        attrs = " ".join(f"{local(k)}={v!r}" for k, v in sorted(node.attrib.items())
                         if local(k) not in ("height", "width"))
        parts.append(f"<{local(node.tag)} {attrs}>{text_of(node)}")
        for sub in node:
            walk(sub)

    walk(xml)
    return "".join(parts)
