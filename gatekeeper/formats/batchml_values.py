"""BatchML values with their own units: setpoint, low and high limits, material amounts.

Each ``<Value>`` (or ``<Amount>``, ``<Quantity>``) is read on its own with its own unit: a setpoint
in °C with a low limit given in °F is two values in two units, and a change of the setpoint's unit
is a change of the setpoint (issue 26: the unit used to be taken from whichever value came last).
A value's property is its text and unit together ("85 °C"), so no change of either can hide.
Limits are compared after conversion, and values of different physical dimensions in one
parameter (a setpoint in kg with limits in °C) are a finding.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from gatekeeper.formats._common import Element, brief, error, parse_number
from gatekeeper.formats._units import convert, dimension, symbol
from gatekeeper.formats._xml import local, text_of
from gatekeeper.formats.base import Finding
from gatekeeper.policy.codes import Code

VALUE_CONTAINERS = {"Value": "value", "OtherValue": "value", "Amount": "amount", "Quantity": "amount",
                    "Range": "range"}
VALUE_STRINGS = frozenset({"ValueString", "QuantityString"})
LIMITS = {"High": "high", "HighLimit": "high", "Max": "high", "Maximum": "high",
          "Low": "low", "LowLimit": "low", "Min": "low", "Minimum": "low"}
NUMERIC_TYPES = frozenset({"int", "integer", "long", "short", "byte", "double", "float", "decimal", "real",
                           "unsignedint", "unsignedlong", "unsignedshort", "unsignedbyte",
                           "nonnegativeinteger", "positiveinteger", "negativeinteger", "nonpositiveinteger",
                           "quantity", "measure", "amount", "numeric", "number"})
MIXED_UNITS = Code.BATCHML_MIXED_UNITS
"""Reason code: a parameter's values and limits are in units of different physical dimensions."""
NOT_A_NUMBER = Code.BATCHML_NOT_A_NUMBER
OUT_OF_LIMITS = Code.BATCHML_OUT_OF_LIMITS
_COMPARISON = re.compile(r"\s*(<=|>=|==|<|>|=|≤|≥)?\s*(.*)", re.S)


@dataclass
class Quantity:
    """One value of a parameter: its role ("value", "low limit" …), text, unit and data type."""

    role: str
    text: str
    unit: str = ""
    data_type: str = ""


@dataclass
class Parameter:
    """What validation needs about one value-bearing element (parameter, material amount, range)."""

    element: Element
    line: int
    values: list[Quantity] = field(default_factory=list)
    limits: dict[str, tuple[float, str, str]] = field(default_factory=dict)
    """high/low → (number, strict operator or '', unit)."""


def number(text: str) -> tuple[str | None, float | None]:
    """``>=27.0`` → (``>=``, 27.0); a plain number has no operator."""
    match = _COMPARISON.fullmatch(text)
    operator, rest = (match.group(1), match.group(2)) if match else (None, text)
    return operator, parse_number(rest)


def with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit and text else text


class ValueReader:
    """Reads value containers and limits of one element into its props and its :class:`Parameter`."""

    def __init__(self, param: Parameter, leaves: Callable[[ET.Element, str, Element], None]) -> None:
        self.param, self.leaves = param, leaves
        self.used: dict[str, int] = {}

    def _role(self, role: str) -> str:
        """Each value keeps its own property even when several share a role ("value", "value 2")."""
        self.used[role] = self.used.get(role, 0) + 1
        return role if self.used[role] == 1 else f"{role} {self.used[role]}"

    def value(self, xml: ET.Element, prop: str) -> None:
        props = self.param.element.props
        interpretation = next((text_of(sub) for sub in xml if local(sub.tag) == "DataInterpretation"), "")
        base = f"{LIMITS[interpretation]} limit" if interpretation in LIMITS else prop
        role = self._role(base)
        unit = symbol(next((text_of(sub) for sub in xml if local(sub.tag) == "UnitOfMeasure"), ""))
        data_type = next((text_of(sub) for sub in xml if local(sub.tag) == "DataType"), "")
        strings = [text_of(sub) for sub in xml if local(sub.tag) in VALUE_STRINGS]
        props[role] = with_unit(", ".join(strings), unit)
        if data_type:
            props["data type" if role == prop else f"{role} data type"] = data_type
        for text in strings:
            if interpretation in LIMITS:
                self._bound(text, LIMITS[interpretation], unit)
                continue
            self.param.values.append(Quantity(role, text, unit, data_type))
            operator, found = number(text)
            if operator and found is not None and operator not in ("=", "=="):
                bound = "high" if operator in ("<", "<=", "≤") else "low"
                self.param.limits.setdefault(bound, (found, operator if operator in ("<", ">") else "", unit))
        counts: dict[str, int] = {}
        for sub in xml:
            name = local(sub.tag)
            if name in LIMITS:
                self.limit(sub, LIMITS[name], unit)
            elif (name not in VALUE_STRINGS and name not in ("UnitOfMeasure", "DataType")) or len(sub):
                counts[name] = counts.get(name, 0) + 1
                self.leaves(sub, f"{role}.{name}" + (f"[{counts[name]}]" if counts[name] > 1 else ""),
                            self.param.element)
        for attr, text in xml.attrib.items():
            props[f"{role}@{local(attr)}"] = text

    def limit(self, xml: ET.Element, bound: str, inherited_unit: str = "") -> None:
        """``<High>10</High>`` or ``<High><ValueString>10</ValueString><UnitOfMeasure>…``: a limit
        without its own unit is in the unit of the value it belongs to."""
        role = self._role(f"{bound} limit")
        strings = [text_of(sub) for sub in xml.iter() if local(sub.tag) in VALUE_STRINGS and text_of(sub)]
        text = text_of(xml) or (strings[0] if strings else "")
        own = next((text_of(sub) for sub in xml.iter() if local(sub.tag) == "UnitOfMeasure"), "")
        self.param.element.props[role] = with_unit(text, symbol(own))
        self._bound(text, bound, symbol(own) or inherited_unit)
        for sub in xml:
            if (local(sub.tag) not in VALUE_STRINGS and local(sub.tag) != "UnitOfMeasure") or len(sub):
                self.leaves(sub, f"{role}.{local(sub.tag)}", self.param.element)
        for attr, value in xml.attrib.items():
            self.param.element.props[f"{role}@{local(attr)}"] = value

    def _bound(self, text: str, bound: str, unit: str) -> None:
        _operator, found = number(text)
        if found is not None:
            self.param.limits[bound] = (found, "", unit)


def check_values(path: str, param: Parameter) -> list[Finding]:
    """Non-numeric numbers, mixed dimensions, values outside their limits (after conversion)."""
    where, found = f"line {param.line}", []
    name = f"{param.element.kind} {param.element.name}"
    units = [(quantity.role, quantity.unit) for quantity in param.values if quantity.unit]
    units += [(f"{bound} limit", param.limits[bound][2]) for bound in ("low", "high")
              if bound in param.limits and param.limits[bound][2]]
    dimensions = {role: (unit, dimension(unit)) for role, unit in units if dimension(unit)}
    kinds = {dim for _unit, dim in dimensions.values()}
    if len(kinds) > 1:
        listed = ", ".join(f"{role} in {unit} ({dim})" for role, (unit, dim) in dimensions.items())
        found.append(error(path, where, f"{name}: mixed units: {listed}; a value and its limits must measure "
                           "the same quantity", code=MIXED_UNITS))
        return found
    for quantity in param.values:
        operator, value = number(quantity.text)
        if quantity.data_type.lower() in NUMERIC_TYPES and value is None:
            found.append(error(path, where, f"{name}: value {brief(quantity.text)} is not a number "
                               f"(data type {quantity.data_type})", code=NOT_A_NUMBER))
        elif value is not None and operator in (None, "=", "=="):
            found.extend(_against_limits(path, where, name, value, quantity.unit, param))
    return found


def _against_limits(path: str, where: str, name: str, value: float, unit: str, param: Parameter) -> list[Finding]:
    found = []
    for bound, word in (("high", "above"), ("low", "below")):
        limit = param.limits.get(bound)
        if limit is None:
            continue
        number_, strict, limit_unit = limit
        compared = convert(number_, limit_unit, unit) if limit_unit and unit else number_
        if compared is None:
            continue
        compared = round(compared, 9)
        beyond = value > compared if bound == "high" else value < compared
        if beyond or (value == compared and strict):
            shown_limit = f"{strict}{number_:g}" + (f" {limit_unit or unit}" if limit_unit or unit else "")
            converted = f" (= {compared:g} {unit})" if limit_unit and unit and symbol(limit_unit) != unit else ""
            found.append(error(path, where, f"{name}: value {with_unit(f'{value:g}', unit)} is {word} the {bound} "
                               f"limit {shown_limit}{converted}", code=OUT_OF_LIMITS))
    return found
