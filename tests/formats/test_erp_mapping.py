"""OT-to-ERP mapping CSV: schema, row rules, the cross-file checks (tag exists, defining system, data
type, unit dimension), double postings, ';'-separated files with decimal commas, diffs that say what
a change does to the books, and hypothesis-generated files (valid ones pass; one mutation gives
exactly the expected error)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.formats import erp_mapping, tag_context
from gatekeeper.formats.base import Context
from gatekeeper.formats.erp_mapping import COLUMNS, ERP_OBJECTS, TRIGGERS, UNITS
from tests.formats.fixtures import read, tag_files

GOOD = "erp-mapping/production-postings.csv"
BAD = "erp-mapping/production-postings.bad.csv"
TAGS = tag_context(tag_files())
IGNITION = "ignition/native-tag-export.json"


def findings(data: bytes, context: Context = TAGS) -> list[tuple[str, str, str]]:
    found = erp_mapping.validate("erp/postings.csv", data, context)
    return [(f.location, f.severity, f.message) for f in found]


def test_sample_is_clean_when_every_tag_exists() -> None:
    assert findings(read(GOOD)) == []


def test_without_a_tag_index_one_warning_says_tags_were_not_checked() -> None:
    expected = ("line 1", "warning", "tag index not available, tag paths not checked")
    assert findings(read(GOOD), Context()) == [expected]


def test_defective_sample_yields_an_error_per_defect() -> None:
    assert findings(read(BAD)) == [
        ("line 13", "error", "mapping MAP-0011: duplicate mapping_id (first used on line 12)"),
        ("line 19", "error", "mapping MAP-0018: conversion_factor -0.1 must be positive"),
        ("line 20", "error", f"mapping MAP-0019: unknown unit gal (allowed: {', '.join(UNITS)})"),
        ("line 22", "error", "mapping MAP-0021: tag ModbusChannel1.Device1.Tag21 is not defined by any tag "
                             "configuration (Ignition, Kepware) in this repo"),
    ]


@pytest.mark.parametrize(("header", "expected"), [
    (COLUMNS[:-1], "header: missing columns financial"),
    ((*COLUMNS, "comment"), "header: unknown columns comment"),
    ((COLUMNS[1], COLUMNS[0], *COLUMNS[2:]), f"header: columns out of order, expected {','.join(COLUMNS)}"),
])
def test_header_schema(header: tuple[str, ...], expected: str) -> None:
    assert ("line 1", "error", expected) in findings(",".join(header).encode() + b"\n")


def test_diff_reads_as_postings_and_is_financial() -> None:
    old = read(GOOD)
    new = old.replace(b"Sample Tag 2,S4P-100,MIGO/261,ERFMG,L,", b"Sample Tag 2,S4P-100,MIGO/261,ERFMG,kg,")
    new = new.replace(b"Tag4,S4P-100,CO11N,ISM03,kWh,0.1,", b"Tag4,S4P-100,CO11N,ISM03,kWh,0.01,")
    new = new.replace(b"Sample Tag 4,S4P-100,MIGO/551,", b"Sample Tag 4,S4P-200,MIGO/531,")
    changes = erp_mapping.diff("p.csv", old, new)
    assert [c.text for c in changes] == [
        "mapping MAP-0011: tag Sample Tags/Sample Tag 2 now posts to MIGO/261 in kg, was L",
        "mapping MAP-0013: tag Sample Tags/Sample Tag 4 now posts to MIGO/531 in kg, was S4P-100 MIGO/551",
        "mapping MAP-0020 now books 0.1× the metered energy to CO11N (confirmation): conversion factor 0.1 → "
        "0.01 (ModbusChannel1.Device1.Tag4 → CO11N in kWh)",
    ]
    assert all(c.financial and c.kind == "changed" for c in changes)
    assert (changes[0].old, changes[0].new) == ("MIGO/261 in L", "MIGO/261 in kg")


def test_added_and_removed_mappings() -> None:
    old = read(GOOD)
    lines = old.splitlines(keepends=True)
    new = b"".join(lines[:-1]) + lines[-1].replace(b"MAP-0027", b"MAP-0028")
    assert [c.text for c in erp_mapping.diff("p.csv", old, new)] == [
        "mapping MAP-0027 removed: tag Data Type Examples.16 Bit Device.K Registers.Float1 no longer posts "
        "to MIGO/261 in kg",
        "mapping MAP-0028 added: tag Data Type Examples.16 Bit Device.K Registers.Float1 posts to MIGO/261 "
        "in kg × 1 at batch_end",
    ]


def test_goods_movement_needs_a_material_and_unknown_postings_warn() -> None:
    data = read(GOOD).replace(b"ERFMG,EA,1,order_end,MAT-100231,", b"ERFMG,EA,1,order_end,,")
    data = data.replace(b",IK11,RECDV,EA,", b",IK12,RECDV,EA,")
    assert findings(data) == [
        ("line 2", "error", "mapping MAP-0001: MIGO/101 (goods receipt) needs a material"),
        ("line 9", "warning",
         f"mapping MAP-0008: erp_object IK12 is not a known posting ({', '.join(ERP_OBJECTS)})"),
    ]


def test_short_row_is_an_error_with_its_line() -> None:
    data = read(GOOD) + b"MAP-0099,1000,ignition\n"
    assert findings(data) == [("line 29", "error", "expected 13 fields, found 3")]


# --- posting rules (issue 15) ------------------------------------------------------------------------

def _row(mapping_id: str) -> bytes:
    return next(line for line in read(GOOD).splitlines(keepends=True) if line.startswith(mapping_id.encode()))


def test_factor_change_says_what_it_does_to_the_books() -> None:
    old = read(GOOD)
    new = old.replace(_row("MAP-0001"), _row("MAP-0001").replace(b",EA,1,", b",EA,2,"))
    [change] = erp_mapping.diff("p.csv", old, new)
    assert change.text.startswith("mapping MAP-0001 now books 2× the counted parts to MIGO/101 (goods receipt): "
                                  "conversion factor 1 → 2")
    assert change.financial


def test_trigger_material_and_cost_center_changes_read_as_bookings() -> None:
    old = read(GOOD)
    row = _row("MAP-0010")
    new = old.replace(row, row.replace(b"batch_end,MAT-200114,CC-4120", b"shift_end,MAT-200999,CC-9999"))
    assert [c.text for c in erp_mapping.diff("p.csv", old, new)] == [
        "mapping MAP-0010: now books at shift_end, was at batch_end (MIGO/261 in kg)",
        "mapping MAP-0010: now books material MAT-200999, was MAT-200114 (MIGO/261 in kg)",
        "mapping MAP-0010: now charges cost center CC-9999, was CC-4120",
    ]


@pytest.mark.parametrize("spelling", [b"", b"upper"])
def test_double_posting_is_an_error_with_both_lines(spelling: bytes) -> None:
    copy = _row("MAP-0001").replace(b"MAP-0001", b"MAP-0028").replace(b",MAT-100231,", b",MAT-999999,")
    if spelling:  # another spelling of the same posting: SAP objects and Ignition paths ignore case
        copy = copy.replace(b"MIGO/101", b"migo/101").replace(b"Exchange/NPEDemo", b"exchange/npedemo")
    found = findings(read(GOOD) + copy, Context(TAGS.tag_paths, TAGS.tags) if not spelling else Context())
    double = [f for f in found if "double posting" in f[2]]
    assert double == [("line 29", "error", "mapping MAP-0028: double posting: tag "
                       f"{'exchange/npedemo' if spelling else 'Exchange/NPEDemo'}/Machine1/Status/PartCount at "
                       f"order_end to {'migo/101' if spelling else 'MIGO/101'} field ERFMG is already posted by "
                       "mapping MAP-0001 (line 2), so the quantity would be booked twice")]


def test_same_tag_to_another_field_or_trigger_is_not_a_double_posting() -> None:
    # MAP-0007 and MAP-0008 read the same counter: goods receipt at order end, reading at shift end.
    assert findings(read(GOOD)) == []


def test_ot_source_must_be_the_system_that_defines_the_tag() -> None:
    row = _row("MAP-0010")
    data = read(GOOD).replace(row, row.replace(b",ignition,", b",kepware,"))
    assert findings(data) == [("line 11", "error", "mapping MAP-0010: ot_source kepware, but tag Sample Tags/Sample "
                               "Tag 1 is defined by the ignition configuration, not kepware: ot_source must be "
                               "ignition")]


@pytest.mark.parametrize(("tag", "source", "data_type"), [
    (b"SimulatorChannel1.Device1.Boolean1", b"kepware", "Boolean"),
    (b"ControlLogixChannel1.Device1.BOOL", b"kepware", "Boolean"),
    (b"Exchange/NPEDemo/Machine1/Status/StatusText", b"ignition", "String"),  # String from the UDT type
])
def test_quantity_from_a_boolean_or_string_tag_is_an_error(tag: bytes, source: bytes, data_type: str) -> None:
    row = _row("MAP-0017")
    data = read(GOOD).replace(row, row.replace(b"kepware,ModbusChannel1.Device1.Tag1,",
                                               source + b"," + tag + b","))
    assert findings(data) == [("line 18", "error", f"mapping MAP-0017: posts a quantity (kg × conversion_factor) "
                               f"from tag {tag.decode()}, whose configured data type is {data_type}")]


def _with_eng_unit(unit: str) -> Context:
    files = [(name, fmt, data.replace(b'"name": "Sample Tag 1",', f'"name": "Sample Tag 1", "engUnit": '
                                      f'"{unit}",'.encode()) if name == IGNITION else data)
             for name, fmt, data in tag_files()]
    return tag_context(files)


@pytest.mark.parametrize(("eng_unit", "expected"), [
    ("°C", [("line 11", "warning", "mapping MAP-0010: posts in kg (mass) but tag Sample Tags/Sample Tag 1 "
                                   "reports °C (temperature) per its tag configuration")]),
    ("kg", []), ("t", []), ("kg/h", []),  # same dimension, or a unit without a known dimension
])
def test_unit_dimension_against_the_tags_engineering_unit(eng_unit: str, expected: list[tuple[str, str, str]]) \
        -> None:
    assert findings(read(GOOD), _with_eng_unit(eng_unit)) == expected


def test_kepware_eng_units_column_counts_too() -> None:
    files = [(name, fmt, data.replace(b'"Tag1","40001",Word,1,R/W,100,,,,,,,,,,"",',
                                      b'"Tag1","40001",Word,1,R/W,100,,,,,,,,,kWh,"",') if name.endswith("Modbus"
                                                                                                        "Example.csv")
              else data) for name, fmt, data in tag_files()]
    assert findings(read(GOOD), tag_context(files)) == [
        ("line 18", "warning", "mapping MAP-0017: posts in kg (mass) but tag ModbusChannel1.Device1.Tag1 reports "
                               "kWh (energy) per its tag configuration")]


def to_semicolons(data: bytes) -> bytes:
    """What Excel with Dutch or German settings saves: ';' between fields, decimal commas, a BOM, CRLF."""
    rows = list(csv.reader(io.StringIO(data.decode())))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell.replace(".", ",") if erp_mapping._DECIMAL_COMMA.fullmatch(cell.replace(".", ","))
                         else cell for cell in row])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode()


def test_semicolon_file_with_decimal_commas_reads_as_the_comma_version() -> None:
    good = read(GOOD)
    dutch = to_semicolons(good)
    assert b"0,000277778" in dutch and b";" in dutch
    assert findings(dutch) == findings(good) == []
    edited = good.replace(b"ERFMG,kg,0.1,batch_end,MAT-200101", b"ERFMG,kg,0.25,batch_end,MAT-200101")
    assert [c.to_dict() for c in erp_mapping.diff("p.csv", dutch, to_semicolons(edited))] == \
           [c.to_dict() for c in erp_mapping.diff("p.csv", good, edited)]
    assert [c.text for c in erp_mapping.diff("p.csv", good, to_semicolons(good))] == []  # same postings
    bad = read(BAD)
    assert findings(to_semicolons(bad)) == findings(bad)


def test_semicolon_file_with_a_dot_in_a_number_is_refused_as_ambiguous() -> None:
    dutch = to_semicolons(read(GOOD)).replace(b"MAT-200101;", b"MAT-200101;").replace(b";0,1;batch_end;MAT-200101",
                                                                                      b";1.000;batch_end;MAT-200101")
    [(location, severity, message)] = findings(dutch)
    assert (location, severity) == ("line 18", "error")
    assert "conversion_factor 1.000 in a ';'-separated file with decimal commas: '.' may be a thousands" in message


@pytest.mark.parametrize(("separator", "name"), [("\t", "tabs"), ("|", "'|' characters")])
def test_other_separators_are_refused_naming_them_and_how_to_export(separator: str, name: str) -> None:
    data = read(GOOD).replace(b",", separator.encode())
    [(location, severity, message)] = findings(data)
    assert (location, severity) == ("line 1", "error")
    assert message.startswith(f"this mapping is separated by {name}, not commas or semicolons: export it from "
                              "Excel as \"CSV UTF-8 (Comma delimited)\"")


# --- hypothesis: generated mapping files -------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s == s.strip() and bool(s))


@st.composite
def rows(draw: st.DrawFn) -> dict[str, str]:
    erp_object = draw(st.sampled_from(sorted(ERP_OBJECTS)))
    material = draw(_text) if erp_object.startswith("MIGO/") else draw(st.sampled_from(["", "MAT-1"]))
    factor = draw(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False))
    return {"mapping_id": "", "plant": draw(st.sampled_from(["1000", "1100"])),
            "ot_source": draw(st.sampled_from(["ignition", "kepware"])), "tag_path": draw(_text),
            "erp_system": "S4P-100", "erp_object": erp_object,
            "erp_field": draw(st.sampled_from(["ERFMG", "ISM01"])), "unit": draw(st.sampled_from(UNITS)),
            "conversion_factor": draw(st.sampled_from([repr(factor), "1", "0.5"])),
            "posting_trigger": draw(st.sampled_from(TRIGGERS)), "material": material,
            "cost_center": draw(st.sampled_from(["", "CC-4100"])),
            "financial": draw(st.sampled_from(["true", "false"]))}


@st.composite
def mapping_files(draw: st.DrawFn) -> list[dict[str, str]]:
    generated = draw(st.lists(rows(), min_size=1, max_size=12))
    for index, row in enumerate(generated):
        row["mapping_id"] = f"MAP-{index + 1:04d}"
        row["tag_path"] = f"{row['tag_path']}/{index}"  # one posting per tag: no double posting
    return generated


def to_csv(generated: list[dict[str, str]], newline: str = "\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator=newline)
    writer.writeheader()
    writer.writerows(generated)
    return buffer.getvalue().encode()


@settings(max_examples=60, deadline=None)
@given(mapping_files(), st.sampled_from(["\n", "\r\n"]))
def test_generated_valid_files_have_no_findings(generated: list[dict[str, str]], newline: str) -> None:
    context = Context(frozenset(row["tag_path"] for row in generated))
    assert findings(to_csv(generated, newline), context) == []


MUTATIONS = {
    "unit": ("gal", "unknown unit gal"),
    "conversion_factor": (st.sampled_from(["0", "-1", "abc", "nan", "inf", "1,5"]), "conversion_factor "),
    "posting_trigger": ("hourly", "unknown posting_trigger hourly"),
    "ot_source": ("wincc", "unknown ot_source wincc"),
    "financial": ("yes", "unknown financial yes"),
    "tag_path": ("No/Such/Tag", "tag No/Such/Tag is not defined by any tag configuration"),
    "mapping_id": (None, "duplicate mapping_id"),
    "(copy)": (None, "double posting"),
}


@settings(max_examples=80, deadline=None)
@given(mapping_files(), st.sampled_from(sorted(MUTATIONS)), st.data())
def test_generated_file_with_one_defect_has_exactly_that_error(generated: list[dict[str, str]], column: str,
                                                               data: st.DataObject) -> None:
    value, expected = MUTATIONS[column]
    if column == "mapping_id":  # a copied row with another tag: same mapping_id, one line further down
        generated.append({**generated[0], "tag_path": generated[0]["tag_path"] + "/copy"})
        mutated = len(generated) - 1
    elif column == "(copy)":  # a copied row with a new id: the same quantity booked twice
        generated.append({**generated[0], "mapping_id": "MAP-9999"})
        mutated = len(generated) - 1
    else:
        mutated = data.draw(st.integers(0, len(generated) - 1))
        generated[mutated][column] = data.draw(value) if isinstance(value, st.SearchStrategy) else value
    context = Context(frozenset(row["tag_path"] for row in generated if row["tag_path"] != "No/Such/Tag"))
    [(location, severity, message)] = findings(to_csv(generated), context)
    assert (location, severity) == (f"line {mutated + 2}", "error")
    assert expected in message
