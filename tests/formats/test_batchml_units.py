"""BatchML values carry their own units (issue 26): setpoint, low and high limit each with its unit,
a change of any of them shown as that value's change, mixed dimensions a finding; and the labels
people gave (descriptions, phase names) on a third-party BatchML V02 recipe."""

from __future__ import annotations

import pytest

from gatekeeper.formats import batchml
from tests.formats.fixtures import read

COUGH = "batchml/cough-syrup-pmw.xml"
QUANTITY = b"""<batchML:ValueString>20</batchML:ValueString>
\t\t\t\t\t\t\t\t<batchML:DataInterpretation>Constant</batchML:DataInterpretation>
\t\t\t\t\t\t\t\t<batchML:DataType>positiveInteger</batchML:DataType>
\t\t\t\t\t\t\t\t<batchML:UnitOfMeasure>kilogram</batchML:UnitOfMeasure>"""


def parameter(setpoint: str = "85", unit: str = "degC", low: str = "20", low_unit: str = "degC",
              high: str = "95", high_unit: str = "degC") -> bytes:
    """A V02 phase parameter with a setpoint and low/high limits, each a ``<Value>`` with its unit."""
    def value(text: str, interpretation: str, of: str) -> str:
        return (f"<Value><ValueString>{text}</ValueString><DataInterpretation>{interpretation}"
                f"</DataInterpretation><DataType>double</DataType><UnitOfMeasure>{of}</UnitOfMeasure></Value>")

    return (f'<BatchInformation xmlns="http://www.wbf.org/xml/BatchML-V02"><MasterRecipe><ID>1</ID>'
            f"<RecipeElement><ID>1206460577906-C1b</ID><Description>Heat Slurry</Description>"
            f"<RecipeElementType>Phase</RecipeElementType><Parameter><ID>2</ID><Description>TEMPERATURE"
            f"</Description>{value(setpoint, 'Constant', unit)}{value(low, 'Low', low_unit)}"
            f"{value(high, 'High', high_unit)}</Parameter></RecipeElement></MasterRecipe></BatchInformation>"
            ).encode()


def texts(old: bytes, new: bytes) -> list[str]:
    return [change.text for change in batchml.diff("r.xml", old, new)]


def messages(data: bytes) -> list[str]:
    return [f.message for f in batchml.validate("r.xml", data)]


def test_a_changed_setpoint_unit_is_the_setpoints_change() -> None:
    assert texts(parameter(), parameter(unit="degF")) == ["parameter Heat Slurry.TEMPERATURE 85 °C → 85 °F"]


def test_a_changed_low_limit_unit_is_the_low_limits_change_not_the_parameters() -> None:
    assert texts(parameter(), parameter(low_unit="degF", low="68")) == [
        "parameter Heat Slurry.TEMPERATURE low limit 20 °C → 68 °F"]


def test_limits_in_another_unit_of_the_same_dimension_are_converted() -> None:
    assert messages(parameter(low="68", low_unit="degF")) == []  # 68 °F = 20 °C
    assert messages(parameter(setpoint="15")) == [
        "parameter Heat Slurry.TEMPERATURE: value 15 °C is below the low limit 20 °C"]
    assert messages(parameter(setpoint="30", low="100", low_unit="degF")) == [
        "parameter Heat Slurry.TEMPERATURE: value 30 °C is below the low limit 100 °F (= 37.7778 °C)"]


def test_mixed_dimensions_are_a_finding() -> None:
    assert messages(parameter(unit="kilogram")) == [
        "parameter Heat Slurry.TEMPERATURE: mixed units: value in kg (mass), low limit in °C (temperature), "
        "high limit in °C (temperature); a value and its limits must measure the same quantity"]


def test_third_party_v02_recipe_has_no_findings() -> None:
    assert batchml.validate(COUGH, read(COUGH)) == []


def test_third_party_v02_recipe_names_phase_and_parameter_by_their_descriptions() -> None:
    old = read(COUGH)
    new = old.replace(QUANTITY, QUANTITY.replace(b">20<", b">25<"), 1)
    assert texts(old, new) == ["parameter Mix Slurry A1.QUANTITY 1 20 → 25 kg"]
    steps = {e.name for e in batchml.parse(old).elements.values() if e.kind == "step"}
    assert "Mix Slurry A1" in steps  # a step is named by the phase it runs


@pytest.mark.parametrize("unit", [b"pound", b"litre"])
def test_a_changed_quantity_unit_alone_is_shown(unit: bytes) -> None:
    old = read(COUGH)
    new = old.replace(QUANTITY, QUANTITY.replace(b"kilogram", unit), 1)
    [text] = texts(old, new)
    assert text.startswith("parameter Mix Slurry A1.QUANTITY 1 20 kg → 20 ")
