"""PLCopen TC6 XML (IEC 61131-3 projects, e.g. Beremiz, CODESYS exports): POUs, their interface
variables with types and initial values, data types, configurations, resources and tasks.

Elements are keyed by IEC name (case-insensitive, as IEC 61131-3 identifiers are); bodies are
compared as code (ST/IL) or as layout-free graphics (FBD/LD/SFC), so moving a block on screen is
not reported but rewiring it is.
"""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ET
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
from gatekeeper.formats.plcopen_refs import (
    STANDARD_PINS,
    TYPE_MISMATCH,
    UNDECLARED,
    Scope,
    base_name,
    code_references,
    connection_mismatches,
    graphical_references,
)
from gatekeeper.formats.plcopen_types import literal_fits, type_text, value_text

WHAT = "plcopen-xml"
POU_TYPES = frozenset({"function", "functionBlock", "program"})
SECTIONS = ("inputVars", "outputVars", "inOutVars", "localVars", "tempVars", "externalVars", "globalVars",
            "accessVars")
STANDARD_BLOCKS = frozenset({"TON", "TOF", "TP", "CTU", "CTD", "CTUD", "R_TRIG", "F_TRIG", "SR", "RS", "RTC",
                             "SEMA", "TIME", "DATE", "TOD", "DT", "STRING", "WSTRING"})
GRAPHICAL = frozenset({"FBD", "LD", "SFC"})
LAYOUT = frozenset({"position", "relPosition"})
KNOWN_PARTS = frozenset({"types", "instances", "contentHeader", "dataTypes", "pous", "configurations"})
"""Project parts compared element by element; any other part is compared as a whole."""


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


CODE_DIFF_LINES = 40
"""A changed ST/IL body shows at most this many lines of unified diff, then a count of the rest."""


def _describe(element: Element, prop: str, old: str | None, new: str | None) -> tuple[str, bool]:
    """ST and IL bodies read as code: the sentence counts the lines, :func:`code_diff` shows them."""
    if prop in ("body (ST)", "body (IL)") and old is not None and new is not None:
        added, removed = _counts(_diff_lines(old, new))
        return f"{element.kind} {element.name} {prop} changed (+{added} −{removed} lines)", False
    if prop.startswith("body") and old is not None and new is not None:
        return f"{element.kind} {element.name} {prop} changed", False
    if prop.startswith("layout") and old is not None and new is not None:
        return f"{element.kind} {element.name} {prop} changed: elements moved or resized on the diagram", False
    return describe_plain(element, prop, old, new)


def code_diff(prop: str, old: str, new: str) -> str | None:
    """A unified diff of a changed ST/IL body, capped at :data:`CODE_DIFF_LINES` with a count of the rest."""
    if prop not in ("body (ST)", "body (IL)"):
        return None
    lines = _diff_lines(old, new)
    shown = lines[:CODE_DIFF_LINES]
    if len(lines) > CODE_DIFF_LINES:
        shown.append(f"… {len(lines) - CODE_DIFF_LINES} more diff lines not shown")
    return "\n".join(shown)


def _diff_lines(old: str, new: str) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=1))


def _counts(lines: list[str]) -> tuple[int, int]:
    body = [line for line in lines if not line.startswith(("+++", "---"))]
    return sum(1 for line in body if line.startswith("+")), sum(1 for line in body if line.startswith("-"))


def changes(old: Project | None, new: Project | None) -> list[SemanticChange]:
    return compare(old.elements if old else {}, new.elements if new else {}, _describe, _summary, detail=code_diff)


def _summary(element: Element) -> str:
    parts = [f"{key} {brief(element.props[key])}" for key in ("pouType", "type", "initial", "interval")
             if element.props.get(key)]
    return f" ({', '.join(parts)})" if parts else ""


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
        self.scope = Scope()  # what every body may name: globals, POUs, types, enum values, libraries
        self.bodies: list[tuple[str, ET.Element, Scope]] = []  # (POU name, POU element, its own scope)
        self.pins: dict[str, dict[str, str]] = dict(STANDARD_PINS)
        self.external_types = False  # the file uses types it does not define (libraries, the runtime's)

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
        for holder in (e for e in root.iter() if local(e.tag) == "globalVars"):  # CODESYS lists them in addData
            if holder.get("name"):
                self.scope.names.add(holder.get("name", "").casefold())  # a GVL's name qualifies its members
            for variable in children(holder, "variable"):
                self._declare(self.scope, variable)
        for pou in pous:
            self._pou(pou)
        self.scope.names.update(self.types)
        for owner, type_name, where in self.derived:
            if "." in type_name:  # a library's type (``Standard.TON``, ``OSCAT_BASIC.TON``): not in the export
                self.scope.names.add(type_name.partition(".")[0].casefold())
                self.external_types = self.external_types or base_name(type_name).upper() not in STANDARD_BLOCKS
            elif type_name.casefold() not in self.types and type_name.upper() not in STANDARD_BLOCKS:
                self.external_types = True
                self._problem(where, f"{owner}: type {type_name} is not defined in this project", "warning")
        self._check_bodies()
        for owner, where in self.externals:
            name = owner.rpartition(" variable ")[2]
            if self.globals and name.casefold() not in self.globals:
                self._problem(where, f"{owner}: no global variable {name} in any configuration", "warning")
        return self.project

    @staticmethod
    def _declare(scope: Scope, variable: ET.Element) -> None:
        name = variable.get("name", "")
        if name:
            scope.names.add(name.casefold())
            scope.types[name.casefold()] = base_name(type_text(child(variable, "type")))

    def _check_bodies(self) -> None:
        """Every body's references against the declarations in scope, and its connections' types."""
        own_scopes = {name.casefold(): (pou, own) for name, pou, own in self.bodies}
        # A file that relies on declarations outside it (vendor extensions such as CODESYS addData, or types it
        # uses but does not define: libraries, the runtime's LOGLEVEL, the I/O mapping) may use names declared
        # there: an undeclared name is then a warning; in a self-contained file it is an error.
        external = self.external_types or any(local(e.tag) == "addData" for e in self.doc.root.iter())
        severity = "warning" if external else "error"
        for name, pou, own in self.bodies:
            scope = Scope(self.scope.names | own.names, {**self.scope.types, **own.types})
            for base in _bases(pou, own_scopes):  # CODESYS: FB EXTENDS base, whose variables it inherits
                scope.names.update(base.names)
                scope.types.update({k: v for k, v in base.types.items() if k not in scope.types})
            reported: set[str] = set()
            for body in (e for e in pou.iter() if local(e.tag) == "body"):
                for language in body:
                    kind = local(language.tag)
                    found = (((what, ref, xml) for what, ref, xml in graphical_references(language))
                             if kind in GRAPHICAL else
                             (("variable", ref, language) for ref, _ in code_references(
                                 "".join(language.itertext()), il=kind == "IL")))
                    for what, ref, xml in found:
                        if not scope.knows(ref) and ref.casefold() not in reported:
                            reported.add(ref.casefold())
                            self._problem(xml, f"POU {name}: {kind} body uses {what} {ref}, which is not declared "
                                          "(not a local, input/output, global or resource variable, nor a POU, "
                                          "type, step or action)" + (" in this file" if severity == "warning" else ""),
                                          severity, code=UNDECLARED)
                    for message, xml in connection_mismatches(language, scope, self.pins) if kind in GRAPHICAL \
                            else ():
                        self._problem(xml, f"POU {name}: {message}", code=TYPE_MISMATCH)

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
        self.scope.names.update(value.get("name", "").casefold() for value in xml.iter() if local(value.tag) == "value"
                                and value.get("name"))  # enumeration values are names a body may use
        props = {"type": type_text(child(xml, "baseType")), "initial": value_text(child(xml, "initialValue"))}
        props = {k: v for k, v in props.items() if v}
        for part in xml:  # documentation, vendor extensions (addData): compared, never dropped
            if local(part.tag) not in ("baseType", "initialValue"):
                props[local(part.tag)] = _canonical(part)
        self._add(f"type:{name}", "data type", name, props, xml)

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
                    if local(language.tag) in GRAPHICAL:
                        props[f"layout ({local(language.tag)})"] = _layout(language)
            elif part_name != "interface":
                props[part_name] = _canonical(part)
        if self._add(f"pou:{name}", "POU", name, props, xml) is None:
            return
        self._variables(interface, f"pou:{name}", f"POU {name}")
        own = Scope({name.casefold()})
        for holder in (e for e in xml.iter() if local(e.tag) == "interface"):
            for variable in (v for v in holder.iter() if local(v.tag) == "variable"):
                self._declare(own, variable)  # its own interface and those of its methods, actions, properties
        own.names.update(e.get("name", "").casefold() for e in xml.iter()
                         if local(e.tag) in ("step", "action", "transition", "method", "Method", "Action",
                                             "Property", "Transition") and e.get("name"))
        self.pins[name.upper()] = {key.upper(): own.types[key] for key in own.types}
        self.bodies.append((name, xml, own))

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
                self._add(f"{resource_key}/task:{task.get('name', '')}", "task",
                          f"{name}.{resource.get('name', '')}.{task.get('name', '')}",
                          {k: v for k, v in task.attrib.items() if k != "name"}, task)
            for instance in (e for e in resource.iter() if local(e.tag) == "pouInstance"):
                self._add(f"{resource_key}/instance:{instance.get('name', '')}", "program instance",
                          f"{name}.{resource.get('name', '')}.{instance.get('name', '')}",
                          {"typeName": instance.get("typeName", "")}, instance)
                # CODESYS writes an empty typeName: the instance is named after its program
                self.programs.add(instance.get("typeName", "") or instance.get("name", ""))
        for type_name in self.programs:
            if type_name.casefold() not in self.types:
                self._problem(xml, f"configuration {name}: program instance of unknown POU {type_name}")
        self.programs.clear()

    def _problem(self, xml: ET.Element, message: str, severity: str = "error", code: str = "") -> None:
        self.project.problems.append(finding(self.path, self.doc.where(xml),
                                             "warning" if severity == "warning" else "error", message, code=code))


def _bases(pou: ET.Element, pous: dict[str, tuple[ET.Element, Scope]]) -> list[Scope]:
    """Scopes of the function blocks ``pou`` extends, transitively (CODESYS: ``<Extends>`` in addData)."""
    found: list[Scope] = []
    current, seen = pou, set[str]()
    while len(seen) < 20:
        names = [text_of(e).casefold() for e in current.iter() if local(e.tag) == "Extends" and text_of(e)]
        name = next((n for n in names if n in pous and n not in seen), None)
        if name is None:
            return found
        seen.add(name)
        current, scope = pous[name]
        found.append(scope)
    return found


def _body_text(language: ET.Element) -> str:
    if local(language.tag) in GRAPHICAL:
        return _canonical(language)
    return "\n".join(line.rstrip() for line in "".join(language.itertext()).strip().splitlines())


def _layout(xml: ET.Element) -> str:
    """Positions and sizes of a diagram, compared apart from its logic: a move is shown as one line
    (in LD the order of rungs follows their position, so a move is not nothing)."""
    return " ".join(f"{local(node.tag)}:{node.get('localId', '')}:{node.get('x', '')},{node.get('y', '')}"
                    f":{node.get('width', '')}x{node.get('height', '')}" for node in xml.iter()
                    if local(node.tag) in LAYOUT or node.get("width") or node.get("height"))


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
