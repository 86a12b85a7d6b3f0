"""BatchML / B2MML recipes: golden diffs on edited copies of the samples, and each validation rule."""

from __future__ import annotations

import re

import pytest

from gatekeeper.formats import batchml
from gatekeeper.formats._common import ContentError
from tests.formats.fixtures import SAMPLES, read

GENERAL = "batchml/ExampleGeneralRecipe.xml"
MASTER = "batchml/MasterRecipe_B2MML.xml"
RPM = "Mixing_of_Liquids001.Revolutions_per_minute001"


def texts(old: bytes, new: bytes) -> list[str]:
    return [change.text for change in batchml.diff("recipe.xml", old, new)]


def messages(data: bytes) -> list[str]:
    return [f"{f.severity}: {f.message}" for f in batchml.validate("recipe.xml", data)]


@pytest.mark.parametrize("name", SAMPLES["batchml"])
def test_every_sample_parses_without_findings(name: str) -> None:
    recipe = batchml.parse(read(name), name)
    assert recipe.elements
    assert batchml.check(name, recipe) == []


def test_changed_setpoint_reads_with_step_parameter_and_unit() -> None:
    old = read(GENERAL)
    new = old.replace(b"<b2mml:ValueString>200<", b"<b2mml:ValueString>250<")
    [change] = batchml.diff("r.xml", old, new)
    assert change.text == f"parameter {RPM} 200 → 250 rpm"
    assert (change.kind, change.old, change.new, change.financial) == ("changed", "200 rpm", "250 rpm", False)


def test_renamed_phase_is_a_rename_not_remove_and_add() -> None:
    old = read(GENERAL)
    new = old.replace(b"<b2mml:Description>Dosing</b2mml:Description>",
                      b"<b2mml:Description>Dosing of water</b2mml:Description>")
    assert texts(old, new) == ["process element Dosing001 renamed Dosing → Dosing of water"]


def test_changed_unit_of_a_material_amount_is_financial() -> None:
    old = read(GENERAL)
    new = old.replace(b"litre</b2mml:UnitOfMeasure>", b"kilogram</b2mml:UnitOfMeasure>", 1)
    [change] = batchml.diff("r.xml", old, new)
    assert change.text == "material InputListID001/Educt001 amount 5.0 L → 5.0 kg"  # ID reused by a reference
    assert change.financial


def test_changed_material_amount_is_financial_with_unit() -> None:
    old = read(GENERAL)
    new = old.replace(b"<b2mml:QuantityString>3.0<", b"<b2mml:QuantityString>3.5<", 1)
    [change] = batchml.diff("r.xml", old, new)
    assert (change.text, change.financial) == ("material InputListID001/Educt002 amount 3.0 → 3.5 L", True)


def test_master_recipe_formula_parameter_is_named_by_its_description_not_its_opaque_id() -> None:
    old = read(MASTER)
    new = old.replace(b"<b2mml:ValueString>27.0<", b"<b2mml:ValueString>30.0<")
    assert texts(old, new) == ["parameter HC19_Set_heating_temperature_to_reach_materials_temperature "
                               "27.0 → 30.0 °C"]


def test_a_tools_null_id_suffix_never_reaches_the_label() -> None:
    """Issue 25 point 4: ``001:null`` read "parameter MasterRecipe_4/001:null" in pages and mails."""
    recipe = batchml.parse(read(MASTER))
    names = [element.name for element in recipe.elements.values()]
    assert not any(":null" in name for name in names)
    assert "HC29_Revolutions_per_minute" in names  # the formula parameter, by its description
    assert "HC29_Mixing_Procedure.HC29_Revolutions_per_minute" in names  # the operation's reference to it


def test_sample_pair_reports_swapped_steps_as_moves_and_amounts_as_financial() -> None:
    old, new = read(SAMPLES["batchml"][0]), read(SAMPLES["batchml"][1])
    changes = batchml.diff("r.xml", old, new)
    moved = {c.text for c in changes if c.kind == "moved"}
    assert moved == {"process element MixingOfLiquids001 moved from position 1 to 3",
                     "process element HeatingOfLiquids001 moved from position 3 to 1"}
    amounts = [c for c in changes if "amount 8.0 → 5.0 L" in c.text]
    assert len(amounts) == 4 and all(c.financial for c in amounts)
    relinked = "link DirectedLink_Root_1 ToID MixingOfLiquids001 → HeatingOfLiquids001"
    assert relinked in {c.text for c in changes}


def test_removed_step_lists_the_step_and_its_parameters() -> None:
    old = read(GENERAL)
    start = old.index(b"    <b2mml:ProcessElement>\n      <b2mml:ID>Dosing001")
    end = old.index(b"</b2mml:ProcessElement>", start) + len(b"</b2mml:ProcessElement>\n")
    changes = batchml.diff("r.xml", old, old[:start] + old[end:])
    removed = {c.text for c in changes if c.kind == "removed"}
    assert "process element Dosing001 removed (Description Dosing)" in removed
    assert "parameter Dosing001.Dosing_Amount001 removed (value 8.0 L)" in removed
    assert batchml.validate("r.xml", old[:start] + old[end:])  # links to Dosing001 now dangle


def test_unknown_elements_are_compared_not_dropped() -> None:
    old = read(GENERAL)
    state = b"<b2mml:LifeCycleState>Draft</b2mml:LifeCycleState>\n"
    new = old.replace(state + b"\n", state + b"<b2mml:Plant>Aachen</b2mml:Plant>\n", 1)
    assert texts(old, new) == ["general recipe GeneralRecipe001 Plant set to Aachen"]


def test_added_file_lists_every_element() -> None:
    changes = batchml.changes(None, batchml.parse(read(GENERAL)))
    assert all(c.kind == "added" for c in changes)
    added = "parameter Heating_of_liquids001.Temperature_Heating001 added (value >=27.0 °C)"
    assert added in {c.text for c in changes}


RULES = [
    (b"<b2mml:ID>Dosing001</b2mml:ID>", b"<b2mml:ID>Mixing_of_Liquids001</b2mml:ID>",
     r"error: duplicate ProcessElement ID 'Mixing_of_Liquids001' \(2 elements share it\)"),
    (b"<b2mml:ID>Dosing_Amount001</b2mml:ID>", b"", r"error: ProcessElementParameter without ID"),
    (b"<b2mml:ValueString>8.0</b2mml:ValueString>", b"<b2mml:ValueString>eight</b2mml:ValueString>",
     r"error: parameter Dosing001.Dosing_Amount001: value eight is not a number \(data type double\)"),
    (b"<b2mml:ToID>Dosing001</b2mml:ToID>", b"<b2mml:ToID>Dosing002</b2mml:ToID>",
     r"error: link 3: ToID 'Dosing002' does not refer to any element in this recipe"),
    (b"<b2mml:ValueString>8.0</b2mml:ValueString>",
     b"<b2mml:ValueString>12.5</b2mml:ValueString><b2mml:High>10</b2mml:High>",
     r"error: parameter Dosing001.Dosing_Amount001: value 12.5 L is above the high limit 10 L"),
    (b"<b2mml:ValueString>200</b2mml:ValueString>",
     b"<b2mml:ValueString>20</b2mml:ValueString><b2mml:Low>50</b2mml:Low>",
     rf"error: parameter {RPM}: value 20 rpm is below the low limit 50 rpm"),
]


@pytest.mark.parametrize(("old", "new", "expected"), RULES)
def test_validation_rules(old: bytes, new: bytes, expected: str) -> None:
    data = read(GENERAL)
    assert old in data
    found = messages(data.replace(old, new, 1))
    assert any(re.fullmatch(expected, message) for message in found), found


def test_value_inside_limits_given_as_comparison_values_passes() -> None:
    data = read(GENERAL).replace(b"<b2mml:ValueString>200</b2mml:ValueString>",
                                 b"<b2mml:ValueString>200</b2mml:ValueString>"
                                 b"<b2mml:ValueString>&gt;=50</b2mml:ValueString>"
                                 b"<b2mml:ValueString>&lt;=300</b2mml:ValueString>")
    assert messages(data) == []
    too_high = data.replace(b"<b2mml:ValueString>200</b2mml:ValueString>",
                            b"<b2mml:ValueString>350</b2mml:ValueString>")
    assert messages(too_high) == [f"error: parameter {RPM}: value 350 rpm is above the high limit 300 rpm"]


def test_master_recipe_step_must_name_a_known_recipe_element() -> None:
    data = read(MASTER).replace(b"<b2mml:RecipeElementID>End<", b"<b2mml:RecipeElementID>Finish<")
    assert messages(data) == ["error: step End: RecipeElementID 'Finish' does not refer to any element "
                              "in this recipe"]


def test_unknown_root_is_checked_generically_with_a_warning() -> None:
    data = b'<Recipe xmlns="urn:x"><ID>R1</ID><Step><ID>S1</ID><Description>F</Description></Step></Recipe>'
    assert messages(data) == ["warning: root element Recipe is not a known BatchML/B2MML recipe element; "
                              "checked generically"]


def test_findings_carry_line_numbers() -> None:
    data = read(GENERAL).replace(b"<b2mml:ValueString>8.0</b2mml:ValueString>",
                                 b"<b2mml:ValueString>x</b2mml:ValueString>")
    [found] = batchml.validate("r.xml", data)
    parameter_line = data[: data.index(b"<b2mml:ID>Dosing_Amount001")].count(b"\n")  # the line above the ID
    assert found.location == f"line {parameter_line}"


def test_parse_raises_content_error_for_broken_xml() -> None:
    with pytest.raises(ContentError, match=r"not well-formed XML: line 1 column \d+"):
        batchml.parse(b"<GRecipe><ID>x</GRecipe>")
