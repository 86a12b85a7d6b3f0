"""IEC 61131-3 notation of PLCopen types and values (pure), and which literals fit which type:
``ARRAY [0..9] OF REAL``, ``(a := 1, b := 2)``, ``INT`` holds -32768…32767."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gatekeeper.formats._xml import child, children, local

INTEGERS = {"SINT": (-2**7, 2**7 - 1), "INT": (-2**15, 2**15 - 1), "DINT": (-2**31, 2**31 - 1),
            "LINT": (-2**63, 2**63 - 1), "USINT": (0, 2**8 - 1), "UINT": (0, 2**16 - 1),
            "UDINT": (0, 2**32 - 1), "ULINT": (0, 2**64 - 1), "BYTE": (0, 2**8 - 1), "WORD": (0, 2**16 - 1),
            "DWORD": (0, 2**32 - 1), "LWORD": (0, 2**64 - 1)}
REALS = frozenset({"REAL", "LREAL"})
_INT_LITERAL = re.compile(r"(?:[A-Z]+#)?([+-]?)(?:(2|8|16)#([0-9A-F_]+)|([0-9][0-9_]*))", re.I)
_REAL_LITERAL = re.compile(r"(?:L?REAL#)?[+-]?[0-9][0-9_]*(\.[0-9_]+)?([eE][+-]?[0-9]+)?", re.I)


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
