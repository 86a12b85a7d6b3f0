"""PLCopen bodies checked against the declarations in scope (issue 26): a diagram (FBD, LD, SFC) or
code (ST, IL) still using a variable after its declaration was renamed, and a connection between
pins of different kinds (a TIME output wired to a BOOL input).

Scope of a POU: its own variables (every section), the global variables of every configuration,
resource and global variable list in the file, POU and data type names, enumeration values, SFC
steps, actions and transitions, and the namespaces of libraries the project uses (``Standard.TON``).
Code is read as IEC 61131-3 tokens after comments, strings, pragmas and typed literals are removed;
only the first name of a member chain is a reference, and names followed by ``(`` are calls.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field

from gatekeeper.formats._xml import child, local, text_of
from gatekeeper.policy.codes import Code

UNDECLARED = Code.PLCOPEN_UNDECLARED_VARIABLE
TYPE_MISMATCH = Code.PLCOPEN_CONNECTION_TYPE_MISMATCH
_WORDS = """
IF THEN ELSE ELSIF END_IF CASE OF END_CASE FOR TO BY DO END_FOR WHILE END_WHILE REPEAT UNTIL END_REPEAT EXIT
RETURN CONTINUE AND OR XOR NOT MOD TRUE FALSE THIS SUPER NULL REF REF_TO ADR ADRINST SIZEOF BITADR INDEXOF
__NEW __DELETE __ISVALIDREF __QUERYINTERFACE __QUERYPOINTER __TRY __CATCH __FINALLY __ENDTRY JMP JMPC JMPCN
LD LDN ST STN S R ADD SUB MUL DIV GT GE EQ NE LE LT CAL CALC CALCN RET RETC RETCN ANDN ORN XORN
INT DINT SINT LINT UINT UDINT USINT ULINT REAL LREAL BOOL BYTE WORD DWORD LWORD TIME LTIME DATE TOD DT
TIME_OF_DAY DATE_AND_TIME STRING WSTRING POINTER ARRAY STRUCT VAR END_VAR AT
"""
KEYWORDS = frozenset(word.casefold() for word in _WORDS.split())
"""Words of ST and IL that are no variable references (CODESYS extensions included)."""
_COMMENTS = re.compile(r"\(\*.*?\*\)|/\*.*?\*/|//[^\n]*|'(?:\$.|[^'$])*'|\"(?:\$.|[^\"$])*\"|\{[^}]*\}", re.S)
_LITERAL = re.compile(r"\b[A-Za-z_]*#[\w.:\-+#]*")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|:=|=>|\(|\)|\.|\^|:|[^\sA-Za-z_]")
_CHAIN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)(\s*(\.|\^\.|\[[^\]]*\]\.?)\s*[A-Za-z_][A-Za-z0-9_]*)*"
                    r"\s*(\[[^\]]*\])?\s*\^?\s*")
_NUMBER = re.compile(r"[+-]?\d[\d_]*(\.\d+)?([eE][+-]?\d+)?")
KINDS = {"BOOL": "BOOL", "TIME": "TIME", "LTIME": "TIME", "DATE": "DATE", "TOD": "TOD", "TIME_OF_DAY": "TOD",
         "DT": "DT", "DATE_AND_TIME": "DT", "STRING": "STRING", "WSTRING": "STRING",
         **{t: "number" for t in ("SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT", "REAL",
                                  "LREAL")},
         **{t: "bits" for t in ("BYTE", "WORD", "DWORD", "LWORD")}}
"""Elementary types by kind; a connection joining two different kinds is a finding (numbers and bit
strings are allowed together, as IEC tools convert them implicitly with a warning of their own)."""
STANDARD_PINS = {
    **{name: {"IN": "BOOL", "PT": "TIME", "Q": "BOOL", "ET": "TIME"} for name in ("TON", "TOF", "TP")},
    "CTU": {"CU": "BOOL", "R": "BOOL", "PV": "INT", "Q": "BOOL", "CV": "INT"},
    "CTD": {"CD": "BOOL", "LD": "BOOL", "PV": "INT", "Q": "BOOL", "CV": "INT"},
    "CTUD": {"CU": "BOOL", "CD": "BOOL", "R": "BOOL", "LD": "BOOL", "PV": "INT", "QU": "BOOL", "QD": "BOOL",
             "CV": "INT"},
    "R_TRIG": {"CLK": "BOOL", "Q": "BOOL"}, "F_TRIG": {"CLK": "BOOL", "Q": "BOOL"},
    "SR": {"S1": "BOOL", "R": "BOOL", "Q1": "BOOL"}, "RS": {"S": "BOOL", "R1": "BOOL", "Q1": "BOOL"},
}
"""Formal parameters of the IEC 61131-3 standard function blocks and their types."""


@dataclass
class Scope:
    """Names a body may use, casefolded; ``types`` maps variable → declared type for connections."""

    names: set[str] = field(default_factory=set)
    types: dict[str, str] = field(default_factory=dict)

    def knows(self, name: str) -> bool:
        return name.casefold() in self.names


def base_name(type_name: str) -> str:
    """``Standard.TON`` → ``TON``: a library-qualified name of a standard block is that block."""
    return type_name.rpartition(".")[2]


def code_references(code: str, il: bool = False) -> Iterator[tuple[str, int]]:
    """(name, line) of each variable reference in ST or IL code."""
    cleaned = _LITERAL.sub(" ", _COMMENTS.sub(lambda m: "\n" * m.group().count("\n") or " ", code))
    tokens: list[tuple[str, int, bool]] = []  # (token, line, first on its line)
    for line_number, line in enumerate(cleaned.splitlines(), 1):
        tokens.extend((token, line_number, index == 0) for index, token in enumerate(_TOKEN.findall(line)))
    depth = 0
    for index, (token, line_number, first) in enumerate(tokens):
        depth = max(0, depth + (token == "(") - (token == ")"))  # noqa: S105 - a token, not a password
        if not (token[0].isalpha() or token[0] == "_") or token.casefold() in KEYWORDS:
            continue
        before = tokens[index - 1][0] if index else ""
        after = tokens[index + 1][0] if index + 1 < len(tokens) else ""
        if before in (".", "^") or after == "(" or (after in (":=", "=>") and depth > 0):
            continue  # a member, a call, or a formal parameter of a call (calls span lines)
        if after == ":" and (il or first):
            continue  # a label (IL) or a CASE/jump label
        if il and before.casefold() in ("jmp", "jmpc", "jmpcn", "cal", "calc", "calcn"):
            continue
        yield token, line_number


def expression_references(expression: str) -> list[str]:
    """The variables a graphical ``<expression>`` names: a literal names none, a chain its first name."""
    text = expression.strip()
    if not text or _NUMBER.fullmatch(text) or "#" in text or text.casefold() in ("true", "false"):
        return []
    match = _CHAIN.fullmatch(text)
    if match:
        return [] if match.group(1).casefold() in KEYWORDS else [match.group(1)]
    return [name for name, _line in code_references(text)]


def graphical_references(body: ET.Element) -> Iterator[tuple[str, str, ET.Element]]:
    """(what, name, element) of each reference in an FBD, LD or SFC body."""
    for node in body.iter():
        kind = local(node.tag)
        if kind in ("inVariable", "outVariable", "inOutVariable"):
            for name in expression_references(text_of(child(node, "expression"))):
                yield "variable", name, node
        elif kind in ("contact", "coil"):
            for name in expression_references(text_of(child(node, "variable"))):
                yield "variable", name, node
        elif kind == "block" and node.get("instanceName"):
            yield "instance", node.get("instanceName", ""), node
        elif kind == "reference" and node.get("name"):
            yield "action or transition", node.get("name", ""), node
        elif kind in ("ST", "IL") and node is not body:
            for name, _line in code_references("".join(node.itertext()), il=kind == "IL"):
                yield "variable", name, node


def connection_mismatches(body: ET.Element, scope: Scope, pins: dict[str, dict[str, str]]) -> Iterator[
        tuple[str, ET.Element]]:
    """Messages for connections between pins of different kinds, with the element at fault."""
    nodes = {node.get("localId"): node for node in body.iter() if node.get("localId")}
    for node in body.iter():
        if local(node.tag) == "block":
            block = base_name(node.get("typeName", "")).upper()
            for variable in _pins(node, "inputVariables"):
                target = pins.get(block, {}).get(variable.get("formalParameter", "").upper())
                yield from _mismatch(variable, target, f"input {variable.get('formalParameter')} of "
                                     f"{node.get('instanceName') or node.get('typeName')}", nodes, scope, pins)
        elif local(node.tag) == "outVariable":
            names = expression_references(text_of(child(node, "expression")))
            target = scope.types.get(names[0].casefold()) if len(names) == 1 else None
            yield from _mismatch(node, target, f"variable {text_of(child(node, 'expression'))}", nodes, scope, pins)


def _pins(block: ET.Element, section: str) -> list[ET.Element]:
    holder = child(block, section)
    return [variable for variable in holder if local(variable.tag) == "variable"] if holder is not None else []


def _mismatch(holder: ET.Element, target: str | None, what: str, nodes: dict[str | None, ET.Element],
              scope: Scope, pins: dict[str, dict[str, str]]) -> Iterator[tuple[str, ET.Element]]:
    target_kind = KINDS.get((target or "").upper())
    point = child(holder, "connectionPointIn")
    if target_kind is None or point is None:
        return
    for connection in (c for c in point if local(c.tag) == "connection"):
        source, source_name = _source_type(connection, nodes, scope, pins)
        source_kind = KINDS.get((source or "").upper())
        if source_kind and source_kind != target_kind and {source_kind, target_kind} != {"number", "bits"}:
            yield (f"{what} expects {target} but is connected to {source_name} of type {source}"), holder


def _source_type(connection: ET.Element, nodes: dict[str | None, ET.Element], scope: Scope,
                 pins: dict[str, dict[str, str]]) -> tuple[str | None, str]:
    node = nodes.get(connection.get("refLocalId"))
    if node is None:
        return None, ""
    if local(node.tag) in ("inVariable", "inOutVariable"):
        expression = text_of(child(node, "expression"))
        names = expression_references(expression)
        if len(names) == 1 and expression.strip().casefold() == names[0].casefold():
            return scope.types.get(names[0].casefold()), expression
        return None, expression
    if local(node.tag) == "block":
        block = base_name(node.get("typeName", "")).upper()
        pin = (connection.get("formalParameter") or "").upper()
        return pins.get(block, {}).get(pin), f"output {pin} of {node.get('instanceName') or node.get('typeName')}"
    return None, ""
