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

WHAT = "batchml"
ROOTS = frozenset({"GRecipe", "SiteRecipe", "MasterRecipe", "ControlRecipe", "BatchInformation", "BatchML",
                   "BatchList", "RecipeElement", "MasterRecipeRecord", "ControlRecipeRecord"})
ID_CHILDREN = ("ID", "ConstraintID", "OtherInfoID")
VALUE_CONTAINERS = {"Value": "value", "OtherValue": "value", "Amount": "amount", "Quantity": "amount",
                    "Range": "range"}
VALUE_STRINGS = frozenset({"ValueString", "QuantityString"})
LIMITS = {"High": "high", "HighLimit": "high", "Max": "high", "Maximum": "high",
          "Low": "low", "LowLimit": "low", "Min": "low", "Minimum": "low"}
STEP_KINDS = frozenset({"ProcessElement", "RecipeElement", "Step", "Transition", "UnitProcedure",
                        "Operation", "Phase", "Procedure"})
PARAMETER_KINDS = frozenset({"ProcessElementParameter", "Parameter", "ResourceConstraint",
                             "OtherInformation"})
REQUIRES_ID = STEP_KINDS | {"GRecipe", "MasterRecipe", "ControlRecipe", "SiteRecipe", "ProcessProcedure",
                            "ProcessElementParameter", "Parameter", "Material", "Link", "DirectedLink",
                            "ResourceConstraint"}
GLOBALLY_UNIQUE = STEP_KINDS | {"Link", "DirectedLink"}
NUMERIC_TYPES = frozenset({"int", "integer", "long", "short", "byte", "double", "float", "decimal", "real",
                           "unsignedint", "unsignedlong", "unsignedshort", "unsignedbyte",
                           "nonnegativeinteger", "positiveinteger", "negativeinteger", "nonpositiveinteger",
                           "quantity", "measure", "amount", "numeric", "number"})
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
UNITS = {"degreecelsius": "°C", "deg_c": "°C", "grad celsius": "°C", "kelvin": "K", "k": "K",
         "litre": "L", "liter": "L", "l": "L", "second": "s", "sec": "s", "sekunde": "s",
         "minute": "min", "min": "min", "hour": "h", "hr": "h", "kilogram": "kg", "kilogramm": "kg",
         "gram": "g", "percent": "%", "rev-per-min": "rpm", "umdrehungen pro minute": "rpm",
         "l-per-hr": "L/h", "bar": "bar", "pascal": "Pa", "pa": "Pa", "metre": "m", "meter": "m"}
_COMPARISON = re.compile(r"\s*(<=|>=|==|<|>|=|≤|≥)?\s*(.*)", re.S)
_OPAQUE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}|:")


@dataclass
class Parameter:
    """What validation needs about one value-bearing element (parameter, material amount, range)."""

    element: Element
    line: int
    values: list[tuple[str, str, str]] = field(default_factory=list)  # (text, data type, interpretation)
    limits: dict[str, tuple[float, str]] = field(default_factory=dict)  # high/low → (number, source)


@dataclass
class Recipe:
    root_name: str
    elements: dict[str, Element] = field(default_factory=dict)
    parameters: list[Parameter] = field(default_factory=list)
    refs: list[tuple[Element, str, str, int]] = field(default_factory=list)  # element, field, target, line
    problems: list[Finding] = field(default_factory=list)
    idents: set[str] = field(default_factory=set)
    recipe_elements: set[str] = field(default_factory=set)


def unit_symbol(unit: str) -> str:
    """``http://si-digital-framework.org/SI/units/degreeCelsius`` → ``°C``; unknown units kept."""
    last = unit.strip().rstrip("/").rpartition("/")[2].rpartition("#")[2]
    return UNITS.get(last.lower(), UNITS.get(unit.strip().lower(), last or unit))


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
        found.extend(_check_values(path, param))
    for element, ref_field, target, line in recipe.refs:
        known = recipe.recipe_elements if ref_field == "RecipeElementID" else recipe.idents
        if target and target not in known:
            found.append(error(path, f"line {line}", f"{element.kind} {element.name}: {ref_field} "
                               f"'{target}' does not refer to any element in this recipe"))
    return sorted(found, key=lambda f: int(f.location.removeprefix("line ")))


def _check_values(path: str, param: Parameter) -> list[Finding]:
    where, found, constants = f"line {param.line}", [], []
    name = f"{param.element.kind} {param.element.name}"
    unit = f" {param.element.props['unit']}" if param.element.props.get("unit") else ""
    for text, data_type, _interpretation in param.values:
        operator, number = _number(text)
        if data_type.lower() in NUMERIC_TYPES and number is None:
            found.append(error(path, where, f"{name}: value {brief(text)} is not a number "
                               f"(data type {data_type})"))
        elif number is not None and operator in (None, "=", "=="):
            constants.append(number)
    for number in constants:
        high, low = param.limits.get("high"), param.limits.get("low")
        if high is not None and (number > high[0] or (number == high[0] and high[1] == "<")):
            found.append(error(path, where, f"{name}: value {number:g}{unit} is above the high limit "
                               f"{high[1]}{high[0]:g}{unit}".replace("  ", " ")))
        if low is not None and (number < low[0] or (number == low[0] and low[1] == ">")):
            found.append(error(path, where, f"{name}: value {number:g}{unit} is below the low limit "
                               f"{low[1]}{low[0]:g}{unit}".replace("  ", " ")))
    return found


def _number(text: str) -> tuple[str | None, float | None]:
    match = _COMPARISON.fullmatch(text)
    operator, rest = (match.group(1), match.group(2)) if match else (None, text)
    return operator, parse_number(rest)


def changes(old: Recipe | None, new: Recipe | None) -> list[SemanticChange]:
    before = old.elements if old else {}
    after = new.elements if new else {}
    return compare(before, after, _describe, _summary, _financial)


def _describe(element: Element, prop: str, old: str | None, new: str | None) -> tuple[str, bool]:
    unit = element.props.get("unit", "")
    if prop in ("value", "amount", "range") and old is not None and new is not None:
        label = "" if prop == "value" else f" {prop}"
        return f"{element.kind} {element.name}{label} {brief(old)} → {brief(new)} {unit}".rstrip(), \
            element.kind == "material" or prop == "amount"
    if prop == "unit":
        return f"{element.kind} {element.name} unit {brief(old)} → {brief(new)}", True
    if prop == "Description" and element.kind in _STEP_LABELS and old is not None and new is not None:
        return f"{element.kind} {element.name} renamed {brief(old)} → {brief(new)}", False
    text, _ = describe_plain(element, prop, old, new)
    return text, prop in ("amount", "data type") and element.kind == "material"


_STEP_LABELS = frozenset(LABELS[kind] for kind in STEP_KINDS if kind in LABELS)


def _summary(element: Element) -> str:
    for key in ("value", "amount", "range"):
        if element.props.get(key):
            return f" ({key} {brief(element.props[key])} {element.props.get('unit', '')})".replace(" )", ")")
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

    def build(self) -> Recipe:
        self._mark(self.doc.root, is_root=True)
        self._emit(self.doc.root, None, "", 0, "")
        return self.recipe

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
        label = _label(kind)
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
        element = Element(label, _display(xml, kind, ident, parent, unique, scope),
                          location=self.doc.where(xml), parent=parent_key or None, position=position,
                          parent_name=f"{parent.kind} {parent.name}" if parent else "")
        self.recipe.elements[key] = element
        param = Parameter(element, self.doc.line(xml))
        positions: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for sub in xml:
            sub_kind = local(sub.tag)
            if id(sub) in self.node:
                sub_label = _label(sub_kind)
                self._emit(sub, element, key, positions[sub_label],
                           element.name.split(" (")[0] if ident and parent is not None else scope)
                positions[sub_label] += 1
            elif sub_kind in ID_CHILDREN and len(sub) == 0:
                continue
            elif sub_kind in VALUE_CONTAINERS:
                self._value(sub, VALUE_CONTAINERS[sub_kind], param)
            elif sub_kind in LIMITS:
                self._limit(sub, LIMITS[sub_kind], param)
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

    def _value(self, xml: ET.Element, prop: str, param: Parameter) -> None:
        props = param.element.props
        fields = {local(sub.tag): text_of(sub) for sub in xml if len(sub) == 0}
        strings = [text_of(sub) for sub in xml if local(sub.tag) in VALUE_STRINGS]
        interpretation = fields.get("DataInterpretation", "")
        if interpretation in LIMITS:
            for text in strings:
                self._limit_value(text, LIMITS[interpretation], param)
        else:
            props[prop] = ", ".join(filter(None, [props.get(prop, ""), *strings]))
            param.values.extend((text, fields.get("DataType", ""), interpretation) for text in strings)
            for text in strings:
                operator, number = _number(text)
                if operator and number is not None and operator != "=" and operator != "==":
                    bound = "high" if operator in ("<", "<=", "≤") else "low"
                    strict = operator if operator in ("<", ">") else ""
                    param.limits.setdefault(bound, (number, strict))
        if fields.get("UnitOfMeasure"):
            props["unit"] = unit_symbol(fields["UnitOfMeasure"])
        if fields.get("DataType"):
            props["data type"] = fields["DataType"]
        for name, value in fields.items():
            if name not in VALUE_STRINGS and name not in ("UnitOfMeasure", "DataType"):
                props[f"{prop}.{name}"] = value
        for sub in xml:
            if local(sub.tag) in LIMITS:
                self._limit(sub, LIMITS[local(sub.tag)], param)

    def _limit(self, xml: ET.Element, bound: str, param: Parameter) -> None:
        text = text_of(xml) or _deep_text(xml, tuple(VALUE_STRINGS))
        param.element.props[f"{bound} limit"] = text
        self._limit_value(text, bound, param)

    @staticmethod
    def _limit_value(text: str, bound: str, param: Parameter) -> None:
        param.element.props[f"{bound} limit"] = text
        _operator, number = _number(text)
        if number is not None:
            param.limits[bound] = (number, "")


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


def _display(xml: ET.Element, kind: str, ident: str, parent: Element | None, unique: bool, scope: str) -> str:
    """``HEAT001.Temperature`` for a step's parameter, ``scope/ID`` where an ID is reused; a
    description is added to opaque ids (UUIDs) so approvers see what the element is."""
    name = ident or kind
    if parent is not None and kind in PARAMETER_KINDS and parent.kind in _STEP_LABELS:
        name = f"{parent.name.split(' (')[0]}.{name}"
    elif scope and not unique:
        name = f"{scope}/{name}"
    description = next((text_of(sub) for sub in xml if local(sub.tag) == "Description"), "")
    if ident and description and _OPAQUE.search(ident):
        name += f" ({brief(description)[:40]})"
    return name
