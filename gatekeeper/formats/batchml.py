"""ISA-88 recipes in BatchML / B2MML (general, site, master and control recipes).

Matched on local names, so B2MML V0400–V0700 and BatchML namespaces all work. Every element with
an ID (procedures, process elements, steps, parameters, materials, links, constraints) becomes one
comparable element keyed by its ID, so renames, moves and re-orders are recognised; leaves without
IDs are its properties, and unknown elements are compared like known ones (none dropped).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field

from gatekeeper.formats._common import (
    NO_CONTEXT,
    Element,
    brief,
    compare,
    describe_plain,
    error,
    finding,
    parse_number,
    summary_of,
    validate_with,
)
from gatekeeper.formats._xml import XmlDoc, local, parse_xml, text_of
from gatekeeper.formats.base import Context, Finding, SemanticChange
from gatekeeper.formats.batchml_values import LIMITS, VALUE_CONTAINERS, Parameter, ValueReader, check_values

WHAT = "batchml"
ROOTS = frozenset({"GRecipe", "SiteRecipe", "MasterRecipe", "ControlRecipe", "BatchInformation", "BatchML",
                   "BatchList", "RecipeElement", "MasterRecipeRecord", "ControlRecipeRecord"})
ID_CHILDREN = ("ID", "ConstraintID", "OtherInfoID")
STEP_KINDS = frozenset({"ProcessElement", "RecipeElement", "Step", "Transition", "UnitProcedure",
                        "Operation", "Phase", "Procedure"})
PARAMETER_KINDS = frozenset({"ProcessElementParameter", "Parameter", "ResourceConstraint",
                             "OtherInformation"})
REQUIRES_ID = STEP_KINDS | {"GRecipe", "MasterRecipe", "ControlRecipe", "SiteRecipe", "ProcessProcedure",
                            "ProcessElementParameter", "Parameter", "Material", "Link", "DirectedLink",
                            "ResourceConstraint"}
GLOBALLY_UNIQUE = STEP_KINDS | {"Link", "DirectedLink"}
LABELS = {"ProcessElement": "process element", "ProcessElementParameter": "parameter",
          "Parameter": "parameter", "Material": "material", "Materials": "material list",
          "DirectedLink": "link", "Link": "link", "Step": "step", "Transition": "transition",
          "RecipeElement": "recipe element", "ResourceConstraint": "constraint",
          "OtherInformation": "information", "ProcessProcedure": "procedure", "GRecipe": "general recipe",
          "MasterRecipe": "master recipe", "ControlRecipe": "control recipe", "SiteRecipe": "site recipe",
          "EquipmentRequirement": "equipment requirement", "Constraint": "constraint",
          "ProcessInputs": "process inputs", "ProcessOutputs": "process outputs",
          "ProcessIntermediates": "process intermediates", "UnitProcedure": "unit procedure",
          "Operation": "operation", "Phase": "phase", "Formula": "formula"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-", re.I)
_WORD = re.compile(r"[^\W\d_]{3,}")
_NULL_SUFFIX = re.compile(r":(null|none|undefined|nil)?$", re.I)
KIND_OF_TYPE = {"phase": "phase", "operation": "operation", "unitprocedure": "unit procedure",
                "procedure": "procedure", "begin": "begin", "end": "end"}
"""``RecipeElementType`` → the kind an approver knows the element by ("phase Mix Slurry A1")."""
DESCRIBED = STEP_KINDS | PARAMETER_KINDS | {"Material", "ProcessProcedure", "EquipmentRequirement"}
"""Kinds shown by their description when their ID is opaque (a number, a UUID, a tool's timestamp)."""


@dataclass
class Recipe:
    root_name: str
    elements: dict[str, Element] = field(default_factory=dict)
    parameters: list[Parameter] = field(default_factory=list)
    refs: list[tuple[Element, str, str, int]] = field(default_factory=list)  # element, field, target, line
    problems: list[Finding] = field(default_factory=list)
    idents: set[str] = field(default_factory=set)
    recipe_elements: set[str] = field(default_factory=set)


def parse(data: bytes, path: str = "") -> Recipe:
    doc = parse_xml(data, WHAT)
    return _Builder(doc, path).build()


def validate(path: str, data: bytes, context: Context = NO_CONTEXT) -> list[Finding]:
    return validate_with(parse, check, path, data, context)


def diff(path: str, old: bytes, new: bytes) -> list[SemanticChange]:
    return changes(parse(old, path), parse(new, path))


def check(path: str, recipe: Recipe, context: Context = NO_CONTEXT) -> list[Finding]:
    """Missing/duplicate IDs, non-numeric numbers, values outside limits, dangling references."""
    found = list(recipe.problems)
    if recipe.root_name not in ROOTS:
        found.append(finding(path, "line 1", "warning", f"root element {recipe.root_name} is not a known "
                             "BatchML/B2MML recipe element; checked generically"))
    for param in recipe.parameters:
        found.extend(check_values(path, param))
    for element, ref_field, target, line in recipe.refs:
        known = recipe.recipe_elements if ref_field == "RecipeElementID" else recipe.idents
        if target and target not in known:
            found.append(error(path, f"line {line}", f"{element.kind} {element.name}: {ref_field} "
                               f"'{target}' does not refer to any element in this recipe"))
    return sorted(found, key=lambda f: int(f.location.removeprefix("line ")))


def changes(old: Recipe | None, new: Recipe | None) -> list[SemanticChange]:
    before = old.elements if old else {}
    after = new.elements if new else {}
    return compare(before, after, _describe, _summary, _financial)


VALUE_PROPS = re.compile(r"(value|amount|range|high limit|low limit)( \d+)?")


def _describe(element: Element, prop: str, old: str | None, new: str | None) -> tuple[str, bool]:
    """``parameter Mix Slurry A1.QUANTITY 1 20 → 25 kg``: a value with its own unit, the unit
    written once when it did not change; a unit change of any value is financial for materials."""
    money = element.kind == "material" or prop.startswith("amount")
    if VALUE_PROPS.fullmatch(prop) and old is not None and new is not None:
        label = "" if prop == "value" else f" {prop}"
        (old_number, old_unit), (new_number, new_unit) = _split_unit(old), _split_unit(new)
        if old_unit == new_unit and old_unit:
            return f"{element.kind} {element.name}{label} {brief(old_number)} → {brief(new_number)} {new_unit}", money
        return f"{element.kind} {element.name}{label} {brief(old)} → {brief(new)}", money or old_unit != new_unit
    if prop == "Description" and element.kind in _STEP_LABELS and old is not None and new is not None:
        return f"{element.kind} {element.name} renamed {brief(old)} → {brief(new)}", False
    text, _ = describe_plain(element, prop, old, new)
    return text, prop.endswith("data type") and element.kind == "material"


def _split_unit(text: str) -> tuple[str, str]:
    """``20 kg`` → (``20``, ``kg``): the unit is what follows the last space after a number."""
    head, _, tail = text.rpartition(" ")
    return (head, tail) if head and parse_number(head.lstrip("<>=≤≥ ")) is not None else (text, "")


_STEP_LABELS = frozenset(LABELS[kind] for kind in STEP_KINDS if kind in LABELS) | frozenset(KIND_OF_TYPE.values())


def _summary(element: Element) -> str:
    for key in ("value", "amount", "range"):
        if element.props.get(key):
            return f" ({key} {brief(element.props[key])})"
    return summary_of(element, ("Description", "FromID", "ToID", "Condition"))


def _financial(element: Element) -> bool:
    return element.kind == "material" and bool(element.props.get("amount"))


class _Builder:
    """Turns the XML tree into keyed elements plus the facts validation needs (one pass each)."""

    def __init__(self, doc: XmlDoc, path: str) -> None:
        self.doc, self.path = doc, path
        self.recipe = Recipe(local(doc.root.tag))
        self.node: dict[int, str] = {}  # id(xml element) → its identity ("" when it has none)
        self.seen: Counter[tuple[str, str]] = Counter()
        self.reported: set[str] = set()
        self.collisions: Counter[str] = Counter()
        self.descriptions: dict[str, str] = {}  # ID → the first description given to it
        self.labels: dict[tuple[str, str], str] = {}  # (kind, label) → key of the element that has it

    def build(self) -> Recipe:
        self._mark(self.doc.root, is_root=True)
        self._emit(self.doc.root, None, "", 0, "")
        return self.recipe

    def _display(self, xml: ET.Element, kind: str, shown_kind: str, ident: str, key: str, parent: Element | None,
                 unique: bool, scope: str) -> str:
        """The label people gave (issue 26): an opaque ID gives way to the element's description,
        or to the description of the element it refers to (a phase's parameter names the formula's);
        a step's parameter is ``<step>.<parameter>``; ``scope/ID`` where an ID is reused.
        A tool's empty ID suffix (``001:null``) is never shown."""
        clean = _NULL_SUFFIX.sub("", ident) if ident else ""
        refers_to = next((text_of(sub) for sub in xml if local(sub.tag) == "RecipeElementID"), "")
        description = _description(xml) or self.descriptions.get(ident, "") or self.descriptions.get(refers_to, "")
        described = kind in DESCRIBED and bool(description) and (not clean or _opaque(clean))
        name = " ".join(description.split())[:60] if described else clean or ident or kind
        if parent is not None and kind in PARAMETER_KINDS and parent.kind in _STEP_LABELS:
            name = f"{parent.name}.{name}"
        elif scope and not unique and not described:
            name = f"{scope}/{name}"
        if self.labels.setdefault((shown_kind, name), key) != key and described:
            name += f" ({clean or ident})"  # two elements share a description: the ID tells them apart
        return name

    def _mark(self, xml: ET.Element, is_root: bool = False) -> bool:
        """Post-order: an element is a node if it has an ID or contains one (value containers aside)."""
        ident = _ident(xml)
        contains = False
        for sub in xml:
            contains = self._mark(sub) or contains
        kind = local(xml.tag)
        if is_root or ident is not None or (contains and kind not in VALUE_CONTAINERS):
            self.node[id(xml)] = ident or ""
            if ident:
                if _description(xml):
                    self.descriptions.setdefault(ident, _description(xml))
                self.seen[(kind, ident)] += 1
                self.recipe.idents.add(ident)
                if kind == "RecipeElement":
                    self.recipe.recipe_elements.add(ident)
            elif kind in REQUIRES_ID:
                self.recipe.problems.append(error(self.path, self.doc.where(xml), f"{kind} without ID"))
            return True
        if kind in REQUIRES_ID:
            self.recipe.problems.append(error(self.path, self.doc.where(xml), f"{kind} without ID"))
        return False

    def _emit(self, xml: ET.Element, parent: Element | None, parent_key: str, position: int,
              scope: str) -> None:
        kind, ident = local(xml.tag), self.node[id(xml)]
        own = f"{kind}[{ident}]" if ident else kind
        unique = bool(ident) and self.seen[(kind, ident)] == 1
        key = own if unique or parent is None else f"{parent_key}/{own}"
        if not unique and not ident and position:
            key += f"[{position + 1}]"
        if ident and kind in GLOBALLY_UNIQUE and self.seen[(kind, ident)] > 1 and key not in self.reported:
            self.reported.add(key)  # steps and links are referenced by ID, so one per recipe
            self.recipe.problems.append(error(self.path, self.doc.where(xml), f"duplicate {kind} ID '{ident}'"
                                              f" ({self.seen[(kind, ident)]} elements share it)"))
        if key in self.recipe.elements:
            if not (ident and kind in GLOBALLY_UNIQUE):
                self.recipe.problems.append(error(self.path, self.doc.where(xml), f"duplicate {kind} ID "
                                                  f"'{ident}'" if ident else f"duplicate {kind}"))
            self.collisions[key] += 1
            key += f"#{self.collisions[key] + 1}"
        shown_kind = _kind_label(xml, kind)
        element = Element(shown_kind, self._display(xml, kind, shown_kind, ident, key, parent, unique, scope),
                          location=self.doc.where(xml), parent=parent_key or None, position=position,
                          parent_name=f"{parent.kind} {parent.name}" if parent else "")
        self.recipe.elements[key] = element
        param = Parameter(element, self.doc.line(xml))
        values = ValueReader(param, self._leaves)
        positions: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        identity_read = False
        for sub in xml:
            sub_kind = local(sub.tag)
            if id(sub) in self.node:
                sub_label = _label(sub_kind)
                self._emit(sub, element, key, positions[sub_label],
                           element.name if ident and parent is not None else scope)
                positions[sub_label] += 1
            elif sub_kind in ID_CHILDREN and len(sub) == 0 and not identity_read:
                identity_read = True  # the element's key; a second ID child is compared as a leaf
            elif sub_kind in VALUE_CONTAINERS:
                values.value(sub, VALUE_CONTAINERS[sub_kind])
            elif sub_kind in LIMITS:
                values.limit(sub, LIMITS[sub_kind])
            else:
                counts[sub_kind] += 1
                name = sub_kind if counts[sub_kind] == 1 else f"{sub_kind}[{counts[sub_kind]}]"
                self._leaves(sub, name, element)
                if sub_kind in ("FromID", "ToID", "RecipeElementID") and kind in ("Link", "DirectedLink",
                                                                                  "Step"):
                    target = text_of(sub) or _deep_text(sub, ("FromIDValue", "ToIDValue"))
                    self.recipe.refs.append((element, sub_kind, target, self.doc.line(sub)))
        for attr, value in xml.attrib.items():
            element.props[f"@{local(attr)}"] = value
        if param.values or param.limits:
            self.recipe.parameters.append(param)

    def _leaves(self, xml: ET.Element, name: str, element: Element) -> None:
        if len(xml) == 0:
            element.props[name] = text_of(xml)
        for attr, value in xml.attrib.items():
            element.props[f"{name}@{local(attr)}"] = value
        counts: Counter[str] = Counter()
        for sub in xml:
            counts[local(sub.tag)] += 1
            count = counts[local(sub.tag)]
            self._leaves(sub, f"{name}.{local(sub.tag)}" + (f"[{count}]" if count > 1 else ""), element)


def _ident(xml: ET.Element) -> str | None:
    for sub in xml:
        if local(sub.tag) in ID_CHILDREN and len(sub) == 0:
            return text_of(sub) or None
    return None


def _deep_text(xml: ET.Element, names: tuple[str, ...]) -> str:
    for sub in xml.iter():
        if local(sub.tag) in names and text_of(sub):
            return text_of(sub)
    return ""


def _label(kind: str) -> str:
    """Labels follow the element kind only, so a changed ProcessElementType is a property change."""
    return LABELS.get(kind, kind)


def _kind_label(xml: ET.Element, kind: str) -> str:
    """A recipe element is known by its type: ``phase``, ``operation``, ``unit procedure``."""
    if kind == "RecipeElement":
        kind_text = next((text_of(sub) for sub in xml if local(sub.tag) == "RecipeElementType"), "")
        return KIND_OF_TYPE.get(kind_text.replace(" ", "").casefold(), _label(kind))
    return _label(kind)


def _opaque(ident: str) -> bool:
    """An ID nobody reads: a number, a UUID, a tool's timestamp (``1206460577906-C1b``)."""
    return bool(_UUID.search(ident)) or not _WORD.search(ident)


def _description(xml: ET.Element) -> str:
    return next((text_of(sub) for sub in xml if local(sub.tag) == "Description" and text_of(sub)), "")
