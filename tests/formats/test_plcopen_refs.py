"""PLCopen (issue 26): references in FBD, LD, SFC, ST and IL bodies against the declarations in scope,
connection types (TIME → BOOL), ST bodies as a capped unified diff, and a commercial IDE's export
(CODESYS, with addData extensions and library-qualified standard blocks) read without false errors."""

from __future__ import annotations

from gatekeeper.formats import plcopen
from gatekeeper.formats.plcopen_refs import code_references
from tests.formats.fixtures import read

BEREMIZ = "plcopen/plc.xml"
CODESYS = "plcopen/codesys-home-automation.xml"
RESET = b'<variable name="Reset">\n              <type>\n                <BOOL/>'


def errors(data: bytes) -> list[str]:
    return [f.message for f in plcopen.validate("plc.xml", data) if f.severity == "error"]


def test_a_diagram_still_using_a_renamed_variable_is_an_error() -> None:
    data = read(BEREMIZ)
    renamed = data.replace(RESET, RESET.replace(b'"Reset"', b'"ResetAll"'), 1)  # plc_prg's declaration only
    assert errors(renamed) == [
        "POU plc_prg: FBD body uses variable Reset, which is not declared (not a local, input/output, global or "
        "resource variable, nor a POU, type, step or action)"]


def test_st_code_still_using_a_renamed_variable_is_an_error() -> None:
    data = read(BEREMIZ).replace(b"Cnt := Cnt + 1;", b"Cnt := Cnt + Step;", 1)
    assert errors(data) == ["POU CounterST: ST body uses variable Step, which is not declared (not a local, "
                            "input/output, global or resource variable, nor a POU, type, step or action)"]


def test_a_time_wired_to_a_bool_input_is_an_error() -> None:
    data = read(BEREMIZ).replace(RESET, RESET.replace(b"<BOOL/>", b"<TIME/>"), 1)
    assert "POU plc_prg: input Reset of CounterST0 expects BOOL but is connected to Reset of type TIME" in errors(data)


def test_a_changed_st_body_shows_the_changed_lines() -> None:
    old = read(BEREMIZ)
    new = old.replace(b"Cnt := Cnt + 1;", b"Cnt := Cnt + 2;", 1)
    [change] = plcopen.diff("plc.xml", old, new)
    assert change.text == "POU CounterST body (ST) changed (+1 −1 lines)"
    assert change.diff is not None and "-  Cnt := Cnt + 1;" in change.diff and "+  Cnt := Cnt + 2;" in change.diff


def test_a_long_st_change_is_capped_with_a_count_of_the_rest() -> None:
    old = read(BEREMIZ)
    new = old.replace(b"Out := Cnt;", b"Out := Cnt;\n" + b"\n".join(b"Out := Out + %d;" % i for i in range(60)), 1)
    [change] = plcopen.diff("plc.xml", old, new)
    assert change.text.endswith("(+60 −0 lines)")
    assert change.diff is not None and change.diff.splitlines()[-1].endswith("more diff lines not shown")


def test_code_references_skip_comments_strings_calls_members_and_formal_parameters() -> None:
    code = "(* Old *) x := 'Msg'; // y\nfb(IN := a,\n   Q => b);\nc := d.e + T#5s + 16#FF; LIMIT(0, f, 10);"
    assert [name for name, _ in code_references(code)] == ["x", "a", "b", "c", "d", "f"]


def test_a_commercial_ide_export_has_no_false_errors() -> None:
    found = plcopen.validate(CODESYS, read(CODESYS))
    assert [f.message for f in found if f.severity == "error"] == []
    assert not any("Standard." in f.message for f in found)  # library-qualified standard blocks are known


def test_a_realistic_edit_of_the_commercial_export_reads_well() -> None:
    old = read(CODESYS)
    new = old.replace(b'<task name="MainTask" interval="PT0.05S"', b'<task name="MainTask" interval="PT0.1S"', 1)
    assert [c.text for c in plcopen.diff(CODESYS, old, new)] == [
        "task Wago_PFC200_G1_Lab.HomeAutomation.MainTask interval PT0.05S → PT0.1S"]
