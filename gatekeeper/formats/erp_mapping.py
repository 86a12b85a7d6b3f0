"""OT-to-ERP posting mappings (CSV): which tag posts which quantity to which ERP document.

Every row is money: a wrong unit, factor or target books wrong quantities, so all changes here are
``financial``. The cross-file check needs the repo's tag index (``Context.tag_paths``, built by
:func:`gatekeeper.formats.tag_index` from the tag configurations at the pushed commit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gatekeeper.formats._common import (
    NO_CONTEXT,
    ContentError,
    brief,
    decode_text,
    error,
    finding,
    parse_number,
    read_csv,
    validate_with,
)
from gatekeeper.formats.base import Context, Finding, SemanticChange

WHAT = "erp-mapping-csv"
COLUMNS = ("mapping_id", "plant", "ot_source", "tag_path", "erp_system", "erp_object", "erp_field", "unit",
           "conversion_factor", "posting_trigger", "material", "cost_center", "financial")
UNITS = ("kg", "L", "EA", "h", "kWh", "%", "t", "g", "m3", "Wh", "MWh", "min", "s")
"""The sample's posting units plus standard SI/SAP neighbours (tonne, gram, cubic metre, energy, time)."""
TRIGGERS = ("batch_end", "phase_end", "order_end", "shift_end")
"""As used in the sample mapping: a posting is made at the end of a batch, phase, order or shift."""
OT_SOURCES = ("ignition", "kepware")
ERP_OBJECTS = {"MIGO/101": "goods receipt", "MIGO/261": "goods issue to order",
               "MIGO/531": "by-product receipt", "MIGO/551": "scrapping", "CO11N": "confirmation",
               "PI-SHEET/PI_PROD": "process message (production)",
               "PI-SHEET/PI_CONS": "process message (consumption)", "IK11": "measurement document",
               "QE51N": "result recording"}
"""SAP-style postings named in the sample data's README; other objects are allowed with a warning."""
REQUIRED = ("mapping_id", "plant", "ot_source", "tag_path", "erp_system", "erp_object", "erp_field", "unit",
            "conversion_factor", "posting_trigger", "financial")
NO_TAG_INDEX = "tag index not available, tag paths not checked"


@dataclass
class Row:
    line: int
    values: dict[str, str]

    @property
    def mapping_id(self) -> str:
        return self.values.get("mapping_id", "")


@dataclass
class MappingFile:
    header: list[str]
    rows: list[Row] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)


def parse(data: bytes, path: str = "") -> MappingFile:
    rows = read_csv(decode_text(data, WHAT))
    if not rows:
        raise ContentError(f"empty file: the first line must be the header {','.join(COLUMNS)}", "line 1")
    header = [cell.strip() for cell in rows[0][1]]
    if not set(header) & set(COLUMNS):
        raise ContentError(f"not an ERP mapping CSV: the first line must be the header {','.join(COLUMNS)}",
                           "line 1")
    mapping = MappingFile(header)
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            mapping.problems.append(error(path, f"line {line}",
                                          f"expected {len(header)} fields, found {len(cells)}"))
            continue
        mapping.rows.append(Row(line, {name: cell.strip() for name, cell in zip(header, cells, strict=True)}))
    return mapping


def validate(path: str, data: bytes, context: Context = NO_CONTEXT) -> list[Finding]:
    return validate_with(parse, check, path, data, context)


def diff(path: str, old: bytes, new: bytes) -> list[SemanticChange]:
    return changes(parse(old, path), parse(new, path))


def check(path: str, mapping: MappingFile, context: Context = NO_CONTEXT) -> list[Finding]:
    """Header schema, then each row; every finding is located at ``line N``."""
    found = _check_header(path, mapping.header) + list(mapping.problems)
    if context.tag_paths is None:
        found.append(finding(path, "line 1", "warning", NO_TAG_INDEX))
    first_line: dict[str, int] = {}
    for row in mapping.rows:
        found.extend(_check_row(path, row, context, first_line))
    return sorted(found, key=lambda f: int(f.location.removeprefix("line ")))


def _check_header(path: str, header: list[str]) -> list[Finding]:
    found = []
    missing = [column for column in COLUMNS if column not in header]
    unknown = [column for column in header if column not in COLUMNS]
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if missing:
        found.append(error(path, "line 1", f"header: missing columns {', '.join(missing)}"))
    if unknown:
        found.append(error(path, "line 1", f"header: unknown columns {', '.join(map(brief, unknown))}"))
    if duplicated:
        found.append(error(path, "line 1", f"header: duplicate columns {', '.join(duplicated)}"))
    if not (missing or unknown or duplicated) and tuple(header) != COLUMNS:
        found.append(error(path, "line 1", f"header: columns out of order, expected {','.join(COLUMNS)}"))
    return found


def _check_row(path: str, row: Row, context: Context, first_line: dict[str, int]) -> list[Finding]:
    values, where = row.values, f"line {row.line}"
    who = f"mapping {row.mapping_id}" if row.mapping_id else "mapping without id"
    problems: list[tuple[str, str]] = []

    def bad(message: str, severity: str = "error") -> None:
        problems.append((severity, f"{who}: {message}"))

    for column in REQUIRED:
        if column in values and not values[column]:
            bad(f"{column} is empty")
    if row.mapping_id and row.mapping_id in first_line:
        bad(f"duplicate mapping_id (first used on line {first_line[row.mapping_id]})")
    first_line.setdefault(row.mapping_id, row.line)
    _enum(values, "ot_source", OT_SOURCES, bad)
    _enum(values, "unit", UNITS, bad)
    _enum(values, "posting_trigger", TRIGGERS, bad)
    _enum(values, "financial", ("true", "false"), bad)
    factor = values.get("conversion_factor", "")
    if factor:
        number = parse_number(factor)
        if number is None:
            bad(f"conversion_factor {brief(factor)} is not a finite number")
        elif number <= 0:
            bad(f"conversion_factor {brief(factor)} must be positive")
    erp_object = values.get("erp_object", "")
    if erp_object and erp_object not in ERP_OBJECTS:
        bad(f"erp_object {brief(erp_object)} is not a known posting ({', '.join(ERP_OBJECTS)})", "warning")
    if erp_object.startswith("MIGO/") and "material" in values and not values["material"]:
        bad(f"{erp_object} ({ERP_OBJECTS.get(erp_object, 'goods movement')}) needs a material")
    tag = values.get("tag_path", "")
    if tag and context.tag_paths is not None and tag not in context.tag_paths:
        bad(f"tag {tag} is not defined by any tag configuration (Ignition, Kepware) in this repo")
    return [finding(path, where, "warning" if severity == "warning" else "error", message)
            for severity, message in problems]


def _enum(values: dict[str, str], column: str, allowed: tuple[str, ...], bad: Callable[..., None]) -> None:
    value = values.get(column, "")
    if value and value not in allowed:
        bad(f"unknown {column} {brief(value)} (allowed: {', '.join(allowed)})")


def changes(old: MappingFile | None, new: MappingFile | None) -> list[SemanticChange]:
    """Per mapping_id: target/unit, factor, tag and other column changes; added and removed rows."""
    before, after = _by_id(old), _by_id(new)
    result: list[SemanticChange] = []
    for key, row in before.items():
        if key not in after:
            result.append(SemanticChange("removed", key, f"mapping {key} removed: tag "
                                         f"{row.get('tag_path', '?')} no longer posts to {_target(row)}",
                                         financial=True))
    for key, row in after.items():
        was = before.get(key)
        if was is None:
            result.append(SemanticChange("added", key, f"mapping {key} added: tag {row.get('tag_path', '?')} "
                                         f"posts to {_target(row)} × {row.get('conversion_factor', '?')} at "
                                         f"{row.get('posting_trigger', '?')}", financial=True))
        else:
            result.extend(_row_changes(key, was, row))
    return result


def _row_changes(key: str, was: dict[str, str], now: dict[str, str]) -> list[SemanticChange]:
    tag, result = now.get("tag_path", "?"), []
    target = ("erp_system", "erp_object", "erp_field", "unit")
    moved = [column for column in target if was.get(column) != now.get(column)]
    if moved:
        old_target, new_target = _target(was), _target(now)
        result.append(SemanticChange("changed", key, f"mapping {key}: tag {tag} now posts to {new_target}, "
                                     f"was {_target(was, only=moved)}", old_target, new_target, True))
    for column in dict.fromkeys([*was, *now]):
        if column in target or column == "mapping_id" or was.get(column) == now.get(column):
            continue
        old_value, new_value = was.get(column), now.get(column)
        if column == "conversion_factor":
            text = (f"mapping {key}: conversion factor {brief(old_value)} → {brief(new_value)} "
                    f"({tag} → {_target(now)})")
        elif column == "tag_path":
            text = f"mapping {key}: now reads tag {brief(new_value)}, was {brief(old_value)}"
        else:
            text = f"mapping {key}: {column} {brief(old_value)} → {brief(new_value)}"
        result.append(SemanticChange("changed", key, text, old_value, new_value, True))
    return result


def _target(row: dict[str, str], only: list[str] | None = None) -> str:
    """``MIGO/101 in L``; with ``only``, just the parts that changed (``was kg``)."""
    shown = only or ["erp_system", "erp_object", "erp_field", "unit"]
    parts = []
    if "erp_system" in shown and only:
        parts.append(row.get("erp_system", ""))
    if "erp_object" in shown:
        parts.append(row.get("erp_object", ""))
    if "erp_field" in shown and only:
        parts.append(f"field {row.get('erp_field', '')}")
    text = " ".join(part for part in parts if part)
    if "unit" in shown:
        text = f"{text} in {row.get('unit', '')}" if text else row.get("unit", "")
    return text


def _by_id(mapping: MappingFile | None) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for row in mapping.rows if mapping else []:
        key = row.mapping_id or f"line {row.line}"
        rows[key if key not in rows else f"{key} (line {row.line})"] = row.values
    return rows
