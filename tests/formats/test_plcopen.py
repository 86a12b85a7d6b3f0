"""PLCopen TC6 XML: variables, types and initial values per POU; layout-only edits are not changes."""

from __future__ import annotations

import pytest

from gatekeeper.formats import plcopen
from tests.formats.fixtures import read

PLC = "plcopen/plc.xml"
INPUTS_NUMBER = b'<variable name="InputsNumber">'


def texts(old: bytes, new: bytes) -> list[str]:
    return [change.text for change in plcopen.diff("plc.xml", old, new)]


def messages(data: bytes) -> list[str]:
    return [f"{f.severity}: {f.message}" for f in plcopen.validate("plc.xml", data)]


def test_sample_parses_without_findings() -> None:
    project = plcopen.parse(read(PLC))
    assert plcopen.check(PLC, project) == []
    assert project.elements["pou:AverageVal/var:InputsNumber"].props["initial"] == "5.0"
    assert project.elements["pou:plc_prg/var:CounterST0"].props["type"] == "CounterST"


def test_changed_initial_value() -> None:
    old = read(PLC)
    new = old.replace(b'<simpleValue value="5.0"/>', b'<simpleValue value="6.0"/>')
    [change] = plcopen.diff("plc.xml", old, new)
    assert change.text == "POU AverageVal variable InputsNumber initial 5.0 → 6.0"
    assert (change.kind, change.element) == ("changed", "pou:AverageVal/var:InputsNumber")


def test_changed_type_and_global_constant() -> None:
    old = read(PLC)
    new = old.replace(b'<simpleValue value="17"/>', b'<simpleValue value="20"/>')
    start = new.index(INPUTS_NUMBER)
    new = new[:start] + new[start:].replace(b"<REAL/>", b"<LREAL/>", 1)
    assert texts(old, new) == ["configuration config variable ResetCounterValue initial 17 → 20",
                               "POU AverageVal variable InputsNumber type REAL → LREAL"]


def test_added_and_removed_variables() -> None:
    old = read(PLC)
    extra = b'<variable name="Setpoint"><type><REAL/></type><initialValue><simpleValue value="85.0"/>' \
            b"</initialValue></variable>"
    new = old.replace(b'<variable name="AVCnt">', extra + b'<variable name="AVCnt">', 1)
    assert texts(old, new) == ["POU plc_prg variable Setpoint added (type REAL, initial 85.0)"]
    assert texts(new, old) == ["POU plc_prg variable Setpoint removed (type REAL, initial 85.0)"]


def test_code_change_counts_lines_and_layout_change_is_one_line() -> None:
    old = read(PLC)
    assert texts(old, old.replace(b'<position x="207" y="53"/>', b'<position x="400" y="90"/>')) == [
        "POU plc_prg layout (FBD) changed: elements moved or resized on the diagram"]
    edited = old.replace(b"Out := Cnt;]]>", b"Out := Cnt;\nCnt := 0;]]>")
    assert texts(old, edited) == ["POU CounterST body (ST) changed (+1 −0 lines)"]


def test_rewired_block_is_a_change() -> None:
    old = read(PLC)
    new = old.replace(b'instanceName="CounterST0"', b'instanceName="CounterFBD0"', 1)
    assert texts(old, new) == ["POU plc_prg body (FBD) changed"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    (b'<simpleValue value="17"/>', b'<simpleValue value="17.5"/>',
     "error: configuration config variable ResetCounterValue: initial value 17.5 is not a valid INT"),
    (b'<simpleValue value="17"/>', b'<simpleValue value="40000"/>',
     "error: configuration config variable ResetCounterValue: initial value 40000 is not a valid INT"),
    (b'<simpleValue value="5.0"/>', b'<simpleValue value="five"/>',
     "error: POU AverageVal variable InputsNumber: initial value five is not a valid REAL"),
    (b'<variable name="Cnt2">', b'<variable name="cnt1">',
     "error: duplicate POU AverageVal variable cnt1"),
    (b'pouType="function"', b'pouType="method"',
     "error: POU AverageVal: unknown pouType 'method' (function, functionBlock or program)"),
    (b'typeName="plc_prg"', b'typeName="plc_main"',
     "error: configuration config: program instance of unknown POU plc_main"),
    (b'<derived name="CounterST"/>', b'<derived name="CounterXY"/>',
     "warning: POU plc_prg variable CounterST0: type CounterXY is not defined in this project"),
    (b'<pou name="CounterLD"', b'<pou name="CounterIL"', "error: duplicate POU CounterIL"),
])
def test_validation_rules(old: bytes, new: bytes, expected: str) -> None:
    data = read(PLC)
    assert old in data
    assert expected in messages(data.replace(old, new, 1))


@pytest.mark.parametrize(("type_name", "literal", "fits"), [
    ("BOOL", "TRUE", True), ("BOOL", "2", False), ("INT", "16#7FFF", True), ("INT", "16#8000", False),
    ("UINT", "-1", False), ("DINT", "-2_000_000", True), ("REAL", "1.5e3", True), ("LREAL", "1,5", False),
    ("TIME", "T#100ms", True), ("TIME", "100", False), ("MyStruct", "(a := 1)", True),
])
def test_literal_fits(type_name: str, literal: str, fits: bool) -> None:
    assert plcopen.literal_fits(type_name, literal) is fits


def test_root_must_be_a_plcopen_project() -> None:
    expected = "error: not a PLCopen XML project: root element is GRecipe, expected project"
    assert messages(b"<GRecipe/>") == [expected]
