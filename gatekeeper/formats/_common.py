"""Shared pieces of the format modules: input limits, strict decoding, JSON loading, the flat
element model every semantic diff is computed on, and value formatting.

Pure: bytes in, values out. Hostile or broken input raises :class:`ContentError`, which the
registry turns into an ``error`` finding (a broken file must never reach production).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.errors import InputError
from gatekeeper.formats.base import FORMAT_INVALID, Context, Finding, SemanticChange, Severity

NO_CONTEXT = Context()
"""The default context: no cross-file facts (a module-level value, so it is built once)."""
MAX_BYTES = 20 * 1024 * 1024
"""Larger files are refused: no OT configuration file in the samples is near this size."""
MAX_DEPTH = 200
"""Nesting deeper than this is refused (real exports nest < 20 levels; bombs nest thousands)."""
MAX_VALUE_CHARS = 2000
"""Old/new values longer than this (scripts, ST code) are cut in the stored change."""
TEXT_VALUE_CHARS = 80
"""Values in the one-line text shown to approvers are cut to this many characters."""

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class ContentError(InputError):
    """Unreadable content (hostile, malformed, binary, too big); ``location`` says where
    (``line 1`` when the whole file is at fault, so every finding has a line or a JSON path)."""

    def __init__(self, message: str, location: str = "line 1") -> None:
        super().__init__(message)
        self.location = location


def check_bytes(data: bytes, what: str) -> None:
    """Size and binary checks shared by every format (before any parser sees the data)."""
    if len(data) > MAX_BYTES:
        raise ContentError(f"file exceeds {MAX_BYTES // (1024 * 1024)} MB limit ({len(data)} bytes)")
    if b"\x00" in data and not data.startswith(_UTF16_BOMS):
        raise ContentError(f"binary file (NUL bytes) where {what} text was expected")


def decode_text(data: bytes, what: str) -> str:
    """Strict decoding: UTF-8 (BOM allowed, Kepware writes one) or UTF-16 with a BOM."""
    check_bytes(data, what)
    try:
        if data.startswith(_UTF16_BOMS):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError(f"not valid UTF-8 text: byte {exc.start} (line {line})",
                           f"line {line}") from exc


def load_json(data: bytes, what: str) -> Any:
    """Parse JSON strictly, with the line and column of the first error in the message."""
    text = decode_text(data, what)
    if text.lstrip().startswith("<"):
        raise ContentError(f"not valid JSON: line 1 column 1: found XML ('<') where {what} JSON was expected",
                           "line 1")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ContentError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}",
                           f"line {exc.lineno}") from exc
    except RecursionError as exc:
        raise ContentError(f"JSON nesting deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # NaN/Infinity, or an integer literal too long to convert
        raise ContentError(f"not valid JSON: {exc}") from exc
    if json_depth(value) > MAX_DEPTH:
        raise ContentError(f"JSON nesting deeper than {MAX_DEPTH} levels")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_depth(value: Any) -> int:
    """Nesting depth without recursion, so a hostile document cannot exhaust the stack."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return deepest


def parse_number(text: str) -> float | None:
    """A finite decimal number, else None (``nan``, ``inf`` and ``1,5`` are not numbers here)."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def show(value: Any) -> str:
    """One canonical string per JSON value: strings raw, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    if value is True or value is False or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if type(value) is int:
        return str(value)
    if type(value) is float and math.isfinite(value):
        return repr(value)  # what json.dumps writes for a float, without its machinery (17 MB exports)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def flatten(props: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested objects become dotted keys, so every leaf shows in the diff (none dropped)."""
    flat: dict[str, str] = {}
    for key, value in props.items():
        name = prefix + key if prefix else key
        if type(value) is str:
            flat[name] = value
        elif isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = show(value)
    return flat


def clip(value: str | None, limit: int = MAX_VALUE_CHARS) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + f"… ({len(value) - limit} more characters)"


def brief(value: str | None) -> str:
    """A value as it appears inside a sentence: one line, cut, empty shown as ''."""
    if value is None or value == "":
        return "''"
    one_line = " ".join(value.split())
    return one_line if len(one_line) <= TEXT_VALUE_CHARS else one_line[:TEXT_VALUE_CHARS] + "…"


def error(path: str, location: str, message: str, code: str = "") -> Finding:
    """An error finding; ``code`` is its stable reason code (SPEC §12, a ``Code``), ``format.invalid``
    when the rule names none."""
    return finding(path, location, "error", message, code)


def finding(path: str, location: str, severity: Severity, message: str, code: str = "") -> Finding:
    return Finding(path=path, location=location, severity=severity, message=message,
                   code=code or FORMAT_INVALID)


@dataclass
class Element:
    """One comparable thing in a file (tag, alarm, parameter, variable, mapping row).

    ``props`` are flat strings so any property, known or not, is compared and shown.
    ``parent`` and ``position`` (index among same-kind siblings) are set where order matters
    (recipe steps) to report moves.
    """

    kind: str
    name: str
    props: dict[str, str] = field(default_factory=dict)
    location: str = ""
    parent: str | None = None
    position: int = 0
    parent_name: str = ""


Describe = Callable[[Element, str, str | None, str | None], tuple[str, bool]]
"""(element, property, old, new) → (sentence, financial) for one changed property."""


def describe_plain(element: Element, prop: str, old: str | None, new: str | None) -> tuple[str, bool]:
    if old is None:
        return f"{element.kind} {element.name} {prop} set to {brief(new)}", False
    if new is None:
        return f"{element.kind} {element.name} {prop} removed (was {brief(old)})", False
    return f"{element.kind} {element.name} {prop} {brief(old)} → {brief(new)}", False


def summary_of(element: Element, keys: tuple[str, ...], labels: Mapping[str, str] | None = None) -> str:
    """`` (dataType Float8, opcItemPath ns=1;s=A)`` from the properties an approver needs first."""
    names = labels or {}
    parts = [f"{names.get(key, key)} {brief(element.props[key])}" for key in keys if element.props.get(key)]
    return f" ({', '.join(parts)})" if parts else ""


def compare(old: Mapping[str, Element], new: Mapping[str, Element], describe: Describe = describe_plain,
            summarize: Callable[[Element], str] = lambda _e: "",
            financial: Callable[[Element], bool] = lambda _e: False,
            detail: Callable[[str, str, str], str | None] = lambda _p, _o, _n: None) -> list[SemanticChange]:
    """Removed, added, changed (per property) and moved elements, in the new file's order;
    ``detail(prop, old, new)`` may add a line diff (code), computed on the whole values."""
    changes: list[SemanticChange] = []
    for key, element in old.items():
        if key not in new:
            changes.append(SemanticChange("removed", key, f"{element.kind} {element.name} removed"
                                          f"{summarize(element)}", financial=financial(element)))
    for key, element in new.items():
        before = old.get(key)
        if before is None:
            changes.append(SemanticChange("added", key, f"{element.kind} {element.name} added"
                                          f"{summarize(element)}", financial=financial(element)))
            continue
        for prop in _union(before.props, element.props):
            was, now = before.props.get(prop), element.props.get(prop)
            if was != now:
                text, money = describe(element, prop, was, now)
                lines = detail(prop, was, now) if was is not None and now is not None else None
                changes.append(SemanticChange("changed", key, text, clip(was), clip(now), money, lines))
        if before.parent != element.parent:
            was_in, now_in = before.parent_name or "top level", element.parent_name or "top level"
            changes.append(SemanticChange("moved", key, f"{element.kind} {element.name} moved from {was_in}"
                                          f" to {now_in}", was_in, now_in))
    changes.extend(_reordered(old, new))
    return changes


def _union(first: Mapping[str, str], second: Mapping[str, str]) -> Iterator[str]:
    yield from first
    yield from (key for key in second if key not in first)


def _reordered(old: Mapping[str, Element], new: Mapping[str, Element]) -> list[SemanticChange]:
    """Siblings that changed order: those outside the longest common subsequence moved."""
    groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for key, element in new.items():
        before = old.get(key)
        if before is not None and element.parent is not None and before.parent == element.parent:
            groups.setdefault((element.parent, element.kind), ([], []))[1].append(key)
    changes: list[SemanticChange] = []
    for keys_old_order, keys_new_order in groups.values():
        keys_old_order.extend(sorted(keys_new_order, key=lambda k: old[k].position))
        if keys_old_order == keys_new_order:
            continue
        stay = _lcs(keys_old_order, keys_new_order)
        for key in keys_new_order:
            if key not in stay:
                element, was = new[key], str(old[key].position + 1)
                now = str(element.position + 1)
                changes.append(SemanticChange(
                    "moved", key, f"{element.kind} {element.name} moved from position {was} to {now}",
                    was, now))
    return changes


def _lcs(first: list[str], second: list[str]) -> set[str]:
    """Longest common subsequence of two orderings; among equally long ones, the one keeping most
    elements at their old index, so a swap of two steps reports those two and not a bystander."""
    if len(first) * len(second) > 250_000:
        return _lis(first, second)
    rows = [[(0, 0)] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i in range(len(first) - 1, -1, -1):
        for j in range(len(second) - 1, -1, -1):
            if first[i] == second[j]:
                length, fixed = rows[i + 1][j + 1]
                rows[i][j] = (length + 1, fixed + (i == j))
            else:
                rows[i][j] = max(rows[i + 1][j], rows[i][j + 1])
    keep: set[str] = set()
    i = j = 0
    while i < len(first) and j < len(second):
        if first[i] == second[j]:
            keep.add(first[i])
            i, j = i + 1, j + 1
        elif rows[i + 1][j] >= rows[i][j + 1]:
            i += 1
        else:
            j += 1
    return keep



def _lis(first: list[str], second: list[str]) -> set[str]:
    """The same for long sibling lists in O(n log n): the longest run of ``second`` that is
    increasing in ``first``'s order (patience sorting), without the fixed-point preference."""
    rank = {key: index for index, key in enumerate(first)}
    tails: list[int] = []  # tails[k]: index into second of the smallest tail of a run of length k+1
    previous: list[int] = [-1] * len(second)
    for index, key in enumerate(second):
        low, high = 0, len(tails)
        while low < high:
            middle = (low + high) // 2
            if rank[second[tails[middle]]] < rank[key]:
                low = middle + 1
            else:
                high = middle
        previous[index] = tails[low - 1] if low else -1
        if low == len(tails):
            tails.append(index)
        else:
            tails[low] = index
    keep: set[str] = set()
    index = tails[-1] if tails else -1
    while index >= 0:
        keep.add(second[index])
        index = previous[index]
    return keep

def read_csv(text: str, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """Rows with the physical line each starts on (quoted fields may span lines); blank lines skipped."""
    reader = csv.reader(io.StringIO(text), strict=True, delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        line = reader.line_num
        raise ContentError(f"not valid CSV: line {line}: {exc}", f"line {line}") from exc
    return rows


def validate_with(parse: Any, check: Any, path: str, data: bytes, context: Context) -> list[Finding]:
    """A format module's ``validate``: unreadable content is one error finding, never an exception."""
    try:
        return list(check(path, parse(data, path), context))
    except ContentError as exc:
        return [error(path, exc.location, exc.message)]
