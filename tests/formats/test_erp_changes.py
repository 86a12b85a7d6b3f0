"""ERP mappings (issue 26): ids unique regardless of case, a unit change with the factor unchanged
is a warning naming the implied conversion, a case-only id change still shows."""

from __future__ import annotations

from gatekeeper.formats import analyze, erp_mapping, tag_context
from tests.formats.fixtures import read, tag_files

GOOD = "erp-mapping/production-postings.csv"
TAGS = tag_context(tag_files())


def test_mapping_ids_differing_only_in_case_are_duplicates() -> None:
    data = read(GOOD).replace(b"MAP-0002,", b"map-0001,", 1)
    found = [f.message for f in erp_mapping.validate("p.csv", data, TAGS) if "duplicate" in f.message]
    assert found == ["mapping map-0001: duplicate mapping_id (first used on line 2 as MAP-0001; ids are compared "
                     "regardless of case)"]


def test_a_unit_change_with_the_factor_unchanged_names_the_implied_conversion() -> None:
    old = read(GOOD)
    new = old.replace(b"Sample Tag 2,S4P-100,MIGO/261,ERFMG,L,", b"Sample Tag 2,S4P-100,MIGO/261,ERFMG,kg,", 1)
    warnings = [f.message for f in analyze("erp-mapping-csv", "p.csv", old, new, TAGS).findings
                if "implied conversion" in f.message]
    assert len(warnings) == 1
    assert warnings[0].startswith("mapping MAP-0011: unit L → kg with the conversion factor unchanged (")
    assert warnings[0].endswith("an implied conversion of 1 L = 1 kg; L and kg cannot be converted into each other")
    grams = old.replace(b"ERFMG,kg,1,", b"ERFMG,g,1,", 1)
    [message] = [f.message for f in analyze("erp-mapping-csv", "p.csv", old, grams, TAGS).findings
                 if "implied conversion" in f.message]
    assert message.endswith("1 kg is 1000 g, so the factor would be 1000")


def test_a_case_only_change_of_a_mapping_id_shows() -> None:
    old = read(GOOD)
    new = old.replace(b"MAP-0002,", b"map-0002,", 1)
    assert [c.text for c in erp_mapping.diff("p.csv", old, new)] == ["mapping map-0002: mapping_id MAP-0002 → map-0002"]
