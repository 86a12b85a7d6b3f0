"""Reason codes of format findings (SPEC §12, docs/codes.md): a rule that knows what is wrong names it,
every other finding is ``format.invalid``; each code is a ``Code``, ranks where ``format.invalid`` does
and leaves the rest of the file's findings as they were."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gatekeeper.formats import analyze, tag_context
from gatekeeper.policy.codes import FORMAT_AREAS, Code, area, code_rank, primary_code
from tests.formats.fixtures import read, tag_files
from tests.formats.test_batchml_units import parameter

TAGS = tag_context(tag_files())
ERP = "erp-mapping/production-postings.csv"
BEREMIZ = "plcopen/plc.xml"
RESET = b'<variable name="Reset">\n              <type>\n                <BOOL/>'
OPC = {"name": "Speed", "tagType": "AtomicTag", "valueSource": "opc", "opcServer": "Ignition OPC UA Server",
       "opcItemPath": {"bindType": "parameter", "binding": "ns=1;s={Node}.Speed"}}


def tags(*items: dict[str, Any]) -> bytes:
    return json.dumps({"name": "", "tagType": "Provider", "tags": list(items)}).encode()


def motor(*members: dict[str, Any]) -> dict[str, Any]:
    motor_type = {"name": "Motor", "tagType": "UdtType", "parameters": {"Node": {"dataType": "String"}},
                  "tags": list(members)}
    return {"name": "_types_", "tagType": "Folder", "tags": [motor_type]}


def simdemo_on(driver: str) -> bytes:
    document = json.loads(read("kepware/simdemo_en-us.json").decode("utf-8-sig"))
    channel = document["project"]["channels"][0]
    channel["servermain.MULTIPLE_TYPES_DEVICE_DRIVER"] = driver
    channel["devices"][0]["servermain.MULTIPLE_TYPES_DEVICE_DRIVER"] = driver
    return json.dumps(document).encode()


def erp(edit: Callable[[bytes], bytes]) -> tuple[bytes, bytes]:
    return read(ERP), edit(read(ERP))


CASES: list[tuple[str, str, Callable[[], tuple[bytes | None, bytes]], str, str]] = [
    ("batchml", "r.xml", lambda: (None, parameter(unit="kg")), "error", Code.BATCHML_MIXED_UNITS),
    ("batchml", "r.xml", lambda: (None, parameter(setpoint="hot")), "error", Code.BATCHML_NOT_A_NUMBER),
    ("batchml", "r.xml", lambda: (None, parameter(setpoint="15")), "error", Code.BATCHML_OUT_OF_LIMITS),
    ("ignition-tags", "t.json",
     lambda: (None, tags({"name": "M1", "tagType": "UdtInstance", "typeId": "Pump"}, motor(OPC))),
     "warning", Code.IGNITION_UNDEFINED_TYPE),
    ("ignition-tags", "t.json",
     lambda: (None, tags(motor({**OPC, "opcItemPath": {"bindType": "parameter", "binding": "ns=1;s={Nodee}"}}))),
     "error", Code.IGNITION_UNDEFINED_PARAM),
    ("ignition-tags", "t.json", lambda: (None, tags({"name": "T", "tagType": "AtomicTag", "engLow": 100,
                                                     "engHigh": 0})), "error", Code.IGNITION_ENG_RANGE_ORDER),
    ("ignition-tags", "t.json",
     lambda: (None, tags({"name": "T", "tagType": "AtomicTag", "engLow": 0, "engHigh": 100,
                          "alarms": [{"name": "Hi", "setpointA": 150}]})),
     "warning", Code.IGNITION_ALARM_OUTSIDE_ENG_RANGE),
    ("ignition-tags", "t.json", lambda: (None, tags({"name": "T", "tagType": "AtomicTag", "valueSource": "opc"})),
     "error", Code.IGNITION_OPC_INCOMPLETE),
    ("kepware-project", "p.json", lambda: (None, simdemo_on("BACnet/IP")), "error", Code.KEPWARE_BAD_ADDRESS),
    ("plcopen-xml", "plc.xml",
     lambda: (None, read(BEREMIZ).replace(b"Cnt := Cnt + 1;", b"Cnt := Cnt + Step;", 1)),
     "error", Code.PLCOPEN_UNDECLARED_VARIABLE),
    ("plcopen-xml", "plc.xml", lambda: (None, read(BEREMIZ).replace(RESET, RESET.replace(b"<BOOL/>", b"<TIME/>"), 1)),
     "error", Code.PLCOPEN_CONNECTION_TYPE_MISMATCH),
    ("erp-mapping-csv", "p.csv", lambda: erp(lambda data: data.replace(b"MAP-0002,", b"map-0001,", 1)),
     "error", Code.ERP_DUPLICATE_MAPPING_ID),
    ("erp-mapping-csv", "p.csv",
     lambda: erp(lambda data: data.replace(b"Sample Tag 2,S4P-100,MIGO/261,ERFMG,L,",
                                           b"Sample Tag 2,S4P-100,MIGO/261,ERFMG,kg,", 1)),
     "warning", Code.ERP_UNIT_CHANGED_FACTOR_KEPT),
]


@pytest.mark.parametrize(("fmt", "path", "load", "severity", "code"), CASES, ids=[c[4] for c in CASES])
def test_a_rule_that_knows_what_is_wrong_names_its_code(fmt: str, path: str,
                                                         load: Callable[[], tuple[bytes | None, bytes]],
                                                         severity: str, code: str) -> None:
    old, new = load()
    found = analyze(fmt, path, old, new, TAGS).findings
    assert (severity, code) in {(f.severity, f.code) for f in found}
    assert next(f for f in found if f.code == code).to_dict()["code"] == code


def test_every_format_code_is_listed_and_every_other_finding_is_format_invalid() -> None:
    named = [case[4] for case in CASES]
    assert len(set(named)) == len(named) and set(named) == {c for c in Code if area(c) in FORMAT_AREAS[1:]}
    duplicate = tags({"name": "A", "tagType": "AtomicTag"}, {"name": "a", "tagType": "AtomicTag"})
    [found] = analyze("ignition-tags", "t.json", None, duplicate).findings
    assert (found.message, found.code) == ("duplicate tag path a", Code.FORMAT_INVALID)


def test_format_codes_name_a_refusal_where_format_invalid_does() -> None:
    for code in (c for c in Code if area(c) in FORMAT_AREAS):
        assert code_rank(code) == code_rank(Code.FORMAT_INVALID)
    assert primary_code([Code.KEPWARE_BAD_ADDRESS, Code.APPROVAL_MISSING]) == Code.KEPWARE_BAD_ADDRESS
    assert primary_code([Code.SOD_SELF, Code.ERP_DUPLICATE_MAPPING_ID]) == Code.SOD_SELF
