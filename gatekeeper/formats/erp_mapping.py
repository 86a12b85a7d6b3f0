"""OT-to-ERP posting mappings (CSV): which tag posts which quantity to which ERP document.

Every row is money: a wrong unit, factor or target books wrong quantities, so all changes here are
``financial`` and the diff says what a change does to the books. The cross-file checks need the
repo's tag catalog (``Context.tag_paths``/``Context.tags``, built by
:func:`gatekeeper.formats.tag_context` from the tag configurations at the pushed commit): the tag
exists, ``ot_source`` is the system that defines it, a quantity does not come from a Boolean or
String tag, and the posting unit's dimension agrees with the tag's engineering unit.

Excel in Dutch or German settings saves "CSV" with ``;`` between fields and decimal commas: such a
file is read as what it is (``1,03`` is 1.03), so its findings and diff are those of the comma
version. A ``.`` in a number of such a file is refused (it may be a thousands separator); a file
separated by tabs or ``|`` is refused with how to export it.
"""

from __future__ import annotations

import re
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
from gatekeeper.formats._units import convert, dimension
from gatekeeper.formats.base import Context, Finding, SemanticChange
from gatekeeper.policy.codes import Code

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
DUPLICATE_ID = Code.ERP_DUPLICATE_MAPPING_ID
"""Reason code: two rows share a mapping_id (compared regardless of case, as ERP keys are)."""
UNIT_FACTOR_KEPT = Code.ERP_UNIT_CHANGED_FACTOR_KEPT
"""Reason code: the posting unit changed but the conversion factor did not (an implied 1:1 conversion)."""
NON_QUANTITY_TYPES = frozenset({"boolean", "string", "text", "document", "datetime", "date", "booleanarray",
                                "stringarray", "boolean array", "string array"})
"""Configured data types that hold no quantity (Ignition and Kepware spellings, casefolded)."""
QUANTITY_NOUN = {"mass": "the weighed mass", "volume": "the metered volume", "count": "the counted parts",
                 "time": "the measured time", "energy": "the metered energy", "ratio": "the measured share"}
DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "'|' characters"}
_DECIMAL_COMMA = re.compile(r"[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?")


@dataclass
class Row:
    line: int
    values: dict[str, str]
    reported: frozenset[str] = frozenset()
    """Columns already reported while reading (an ambiguous decimal), not checked again."""

    @property
    def mapping_id(self) -> str:
        return self.values.get("mapping_id", "")


@dataclass
class MappingFile:
    header: list[str]
    rows: list[Row] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    delimiter: str = ","


def parse(data: bytes, path: str = "") -> MappingFile:
    text = decode_text(data, WHAT)
    delimiter = _delimiter(text)
    if delimiter not in (",", ";"):
        raise ContentError(f"this mapping is separated by {DELIMITER_NAMES[delimiter]}, not commas or "
                           "semicolons: export it from Excel as \"CSV UTF-8 (Comma delimited)\" (or \"CSV "
                           "(semicolon delimited)\" with decimal commas), one mapping per line", "line 1")
    rows = read_csv(text, delimiter)
    if not rows:
        raise ContentError(f"empty file: the first line must be the header {','.join(COLUMNS)}", "line 1")
    header = [cell.strip() for cell in rows[0][1]]
    if not set(header) & set(COLUMNS):
        raise ContentError(f"not an ERP mapping CSV: the first line must be the header {','.join(COLUMNS)}",
                           "line 1")
    mapping = MappingFile(header, delimiter=delimiter)
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            mapping.problems.append(error(path, f"line {line}",
                                          f"expected {len(header)} fields, found {len(cells)}"))
            continue
        values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        reported = _decimal_commas(path, line, values, mapping.problems) if delimiter == ";" else frozenset()
        mapping.rows.append(Row(line, values, reported))
    return mapping


def _delimiter(text: str) -> str:
    """The header's separator: the one that splits the first line into the most known columns
    (commas when none does, so the usual "not an ERP mapping CSV" message applies)."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    known = set(COLUMNS)

    def hits(separator: str) -> int:
        return len({cell.strip().strip('"').strip() for cell in first.split(separator)} & known)

    best = max(DELIMITER_NAMES, key=hits)
    return best if hits(best) > max(hits(","), 1) else ","


def _decimal_commas(path: str, line: int, values: dict[str, str], problems: list[Finding]) -> frozenset[str]:
    """``1,03`` → ``1.03`` in a ``;`` file; a ``.`` there is ambiguous (thousands separator?)."""
    factor = values.get("conversion_factor", "")
    if "." in factor:
        who = f"mapping {values.get('mapping_id') or 'without id'}"
        problems.append(error(path, f"line {line}", f"{who}: conversion_factor {brief(factor)} in a "
                              "';'-separated file with decimal commas: '.' may be a thousands separator; write "
                              "the number with a decimal comma and no thousands separator (e.g. 1000 or 0,5)"))
        return frozenset({"conversion_factor"})
    if _DECIMAL_COMMA.fullmatch(factor):
        values["conversion_factor"] = factor.replace(",", ".")
    return frozenset()


def validate(path: str, data: bytes, context: Context = NO_CONTEXT) -> list[Finding]:
    return validate_with(parse, check, path, data, context)


def diff(path: str, old: bytes, new: bytes) -> list[SemanticChange]:
    return changes(parse(old, path), parse(new, path))


def check(path: str, mapping: MappingFile, context: Context = NO_CONTEXT) -> list[Finding]:
    """Header schema, then each row; every finding is located at ``line N``."""
    found = _check_header(path, mapping.header) + list(mapping.problems)
    if context.tag_paths is None:
        found.append(finding(path, "line 1", "warning", NO_TAG_INDEX))
    first_line: dict[str, tuple[int, str]] = {}
    postings: dict[tuple[str, str, str, str], Row] = {}
    for row in mapping.rows:
        found.extend(_check_row(path, row, context, first_line))
        found.extend(_check_posting(path, row, context, postings))
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


def _check_row(path: str, row: Row, context: Context, first_line: dict[str, tuple[int, str]]) -> list[Finding]:
    values, where = row.values, f"line {row.line}"
    who = f"mapping {row.mapping_id}" if row.mapping_id else "mapping without id"
    problems: list[tuple[str, str, str]] = []

    def bad(message: str, severity: str = "error", code: str = "") -> None:
        problems.append((severity, f"{who}: {message}", code))

    for column in REQUIRED:
        if column in values and not values[column]:
            bad(f"{column} is empty")
    folded = row.mapping_id.casefold()
    if row.mapping_id and folded in first_line:
        first, written = first_line[folded]
        same = "" if written == row.mapping_id else f" as {written}; ids are compared regardless of case"
        bad(f"duplicate mapping_id (first used on line {first}{same})", code=DUPLICATE_ID)
    first_line.setdefault(folded, (row.line, row.mapping_id))
    _enum(values, "ot_source", OT_SOURCES, bad)
    _enum(values, "unit", UNITS, bad)
    _enum(values, "posting_trigger", TRIGGERS, bad)
    _enum(values, "financial", ("true", "false"), bad)
    factor = values.get("conversion_factor", "")
    if factor and "conversion_factor" not in row.reported:
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
    return [finding(path, where, "warning" if severity == "warning" else "error", message, code)
            for severity, message, code in problems]


def _check_posting(path: str, row: Row, context: Context,
                   postings: dict[tuple[str, str, str, str], Row]) -> list[Finding]:
    """Double posting, and the rules that need the tag catalog: the defining system, a data type
    that holds a quantity, a posting unit of the tag's dimension."""
    values, where = row.values, f"line {row.line}"
    who = f"mapping {row.mapping_id}" if row.mapping_id else "mapping without id"
    tag, trigger = values.get("tag_path", ""), values.get("posting_trigger", "")
    erp_object, erp_field = values.get("erp_object", ""), values.get("erp_field", "")
    found: list[Finding] = []
    if tag and trigger and erp_object and erp_field:
        # Ignition tag paths and SAP objects/fields are case-insensitive: MIGO/101 = migo/101.
        key = (tag.casefold(), trigger.casefold(), erp_object.casefold(), erp_field.casefold())
        first = postings.setdefault(key, row)
        if first is not row:
            found.append(error(path, where, f"{who}: double posting: tag {tag} at {trigger} to {erp_object} "
                               f"field {erp_field} is already posted by mapping {first.mapping_id or '(no id)'} "
                               f"(line {first.line}), so the quantity would be booked twice"))
    info = context.tags.get(tag) if context.tags is not None and tag else None
    if info is None:
        return found
    source = values.get("ot_source", "")
    if source in OT_SOURCES and source not in info.systems:
        defined = " and ".join(sorted(info.systems))
        found.append(error(path, where, f"{who}: ot_source {source}, but tag {tag} is defined by the {defined} "
                           f"configuration, not {source}: ot_source must be {defined}"))
    if info.data_type.casefold() in NON_QUANTITY_TYPES:
        found.append(error(path, where, f"{who}: posts a quantity ({values.get('unit', '?')} × conversion_factor) "
                           f"from tag {tag}, whose configured data type is {info.data_type}"))
    unit = values.get("unit", "")
    posted, measured = dimension(unit), dimension(info.eng_unit)
    if posted and measured and posted != measured:
        found.append(finding(path, where, "warning", f"{who}: posts in {unit} ({posted}) but tag {tag} "
                             f"reports {info.eng_unit} ({measured}) per its tag configuration"))
    return found


def _enum(values: dict[str, str], column: str, allowed: tuple[str, ...], bad: Callable[..., None]) -> None:
    value = values.get(column, "")
    if value and value not in allowed:
        bad(f"unknown {column} {brief(value)} (allowed: {', '.join(allowed)})")


def changes(old: MappingFile | None, new: MappingFile | None) -> list[SemanticChange]:
    """Per mapping_id: target/unit, factor, tag and other column changes; added and removed rows."""
    before, after = _by_id(old), _by_id(new)
    result: list[SemanticChange] = []
    for folded, row in before.items():
        key = _shown(folded, row)
        if folded not in after:
            result.append(SemanticChange("removed", key, f"mapping {key} removed: tag "
                                         f"{row.get('tag_path', '?')} no longer posts to {_target(row)}",
                                         financial=True))
    for folded, row in after.items():
        key, was = _shown(folded, row), before.get(folded)
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
        if column in target or was.get(column) == now.get(column):
            continue
        old_value, new_value = was.get(column), now.get(column)
        if column == "conversion_factor":
            text = f"mapping {key}{_books(now, old_value, new_value)}: conversion factor {brief(old_value)} → " \
                   f"{brief(new_value)} ({tag} → {_target(now)})"
        elif column == "tag_path":
            text = f"mapping {key}: now books the value of tag {brief(new_value)}, was {brief(old_value)}"
        elif column == "posting_trigger":
            text = f"mapping {key}: now books at {brief(new_value)}, was at {brief(old_value)} ({_target(now)})"
        elif column == "material":
            text = f"mapping {key}: now books material {brief(new_value)}, was {brief(old_value)} " \
                   f"({_target(now)})"
        elif column == "cost_center":
            text = f"mapping {key}: now charges cost center {brief(new_value)}, was {brief(old_value)}"
        else:
            text = f"mapping {key}: {column} {brief(old_value)} → {brief(new_value)}"
        result.append(SemanticChange("changed", key, text, old_value, new_value, True))
    return result


def _books(row: dict[str, str], old: str | None, new: str | None) -> str:
    """`` now books 2× the counted parts to MIGO/101 (goods receipt)``: the factor change's effect on
    the posted quantity; '' when either factor is not a positive number."""
    before, after = parse_number(old or ""), parse_number(new or "")
    if not before or not after or before <= 0 or after <= 0:
        return ""
    noun = QUANTITY_NOUN.get(dimension(row.get("unit", "")) or "", "the quantity")
    erp_object = row.get("erp_object", "?")
    described = f" ({ERP_OBJECTS[erp_object]})" if erp_object in ERP_OBJECTS else ""
    return f" now books {after / before:.6g}× {noun} to {erp_object}{described}"


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
    """Rows by mapping_id regardless of case (``MAP-1`` and ``map-1`` are one mapping to the ERP)."""
    rows: dict[str, dict[str, str]] = {}
    for row in mapping.rows if mapping else []:
        key = row.mapping_id.casefold() or f"line {row.line}"
        rows[key if key not in rows else f"{key} (line {row.line})"] = row.values
    return rows


def _shown(key: str, row: dict[str, str]) -> str:
    return row.get("mapping_id") or key


def check_change(path: str, old: MappingFile, new: MappingFile) -> list[Finding]:
    """Rules on the change itself: a posting unit changed while the factor stayed means the same tag
    value is now booked in another unit, an implied 1:1 conversion nobody may have meant."""
    before, found = _by_id(old), []
    lines = {row.mapping_id.casefold(): row.line for row in new.rows}
    for folded, row in _by_id(new).items():
        was = before.get(folded)
        if was is None or was.get("unit") == row.get("unit"):
            continue
        old_factor, new_factor = parse_number(was.get("conversion_factor", "")), \
            parse_number(row.get("conversion_factor", ""))
        if old_factor is None or old_factor != new_factor:
            continue
        old_unit, new_unit = was.get("unit", ""), row.get("unit", "")
        rate = convert(1.0, old_unit, new_unit)
        hint = (f"; 1 {old_unit} is {rate:g} {new_unit}, so the factor would be {old_factor * rate:g}"
                if rate is not None else f"; {old_unit} and {new_unit} cannot be converted into each other")
        found.append(finding(path, f"line {lines.get(folded, 1)}", "warning",
                             f"mapping {_shown(folded, row)}: unit {old_unit} → {new_unit} with the conversion "
                             f"factor unchanged ({brief(row.get('conversion_factor'))}): the same tag value is now "
                             f"booked as {new_unit}, an implied conversion of 1 {old_unit} = 1 {new_unit}{hint}",
                             code=UNIT_FACTOR_KEPT))
    return found
