"""OT-to-ERP mapping CSV: schema, row rules, the cross-file tag check, financial diffs, and
hypothesis-generated files (valid ones pass; one mutation gives exactly the expected error)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.formats import erp_mapping, tag_index
from gatekeeper.formats.base import Context
from gatekeeper.formats.erp_mapping import COLUMNS, ERP_OBJECTS, TRIGGERS, UNITS
from tests.formats.fixtures import read, tag_files

GOOD = "erp-mapping/production-postings.csv"
BAD = "erp-mapping/production-postings.bad.csv"
TAGS = Context(tag_index(tag_files()))


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
        "mapping MAP-0020: conversion factor 0.1 → 0.01 (ModbusChannel1.Device1.Tag4 → CO11N in kWh)",
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
}


@settings(max_examples=80, deadline=None)
@given(mapping_files(), st.sampled_from(sorted(MUTATIONS)), st.data())
def test_generated_file_with_one_defect_has_exactly_that_error(generated: list[dict[str, str]], column: str,
                                                               data: st.DataObject) -> None:
    context = Context(frozenset(row["tag_path"] for row in generated))
    value, expected = MUTATIONS[column]
    if column == "mapping_id":
        generated.append(dict(generated[0]))  # a copied row: same mapping_id, one line further down
        mutated = len(generated) - 1
    else:
        mutated = data.draw(st.integers(0, len(generated) - 1))
        generated[mutated][column] = data.draw(value) if isinstance(value, st.SearchStrategy) else value
    [(location, severity, message)] = findings(to_csv(generated), context)
    assert (location, severity) == (f"line {mutated + 2}", "error")
    assert expected in message
