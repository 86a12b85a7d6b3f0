"""The semantic comparison on the real samples: formatting, key order and volatile keys do not count;
a folder is its set of files; unreadable live content is never "in line"."""

from __future__ import annotations

import json

from gatekeeper.drift.compare import compare
from tests.drift.conftest import FIX, MAKER, SIMDEMO

RECIPE = (FIX / "batchml" / "MasterRecipe_B2MML.xml").read_bytes()


def test_kepware_project_id_and_key_order_do_not_count() -> None:
    doc = json.loads(SIMDEMO.decode("utf-8-sig"))
    doc["project"]["PROJECT_ID"] = 99
    doc["project"]["channels"][0]["devices"][0]["PROJECT_ID"] = 100
    live = json.dumps({"project": dict(sorted(doc["project"].items()))}, indent=8).encode()
    assert compare("kepware-project", "p.json", {"": SIMDEMO}, {"": live}).in_line
    doc["project"]["channels"][0]["devices"][0]["tags"][0]["servermain.TAG_ADDRESS"] = "K9999"
    drift = compare("kepware-project", "p.json", {"": SIMDEMO}, {"": json.dumps(doc).encode()})
    assert drift.texts() == ["p.json: tag Channel1.Device1.Tag1 address R0001 → K9999"]


def test_xml_whitespace_is_not_drift_and_a_value_is() -> None:
    spaced = RECIPE.replace(b"><", b">\n  <")
    assert compare("batchml", "r.xml", {"": RECIPE}, {"": spaced}).in_line
    changed = RECIPE.replace(b"<b2mml:ValueString>200<", b"<b2mml:ValueString>240<", 1)
    result = compare("batchml", "r.xml", {"": RECIPE}, {"": changed})
    assert not result.in_line and "200 → 240" in result.summary()


def test_a_folder_is_its_set_of_files() -> None:
    live = dict(MAKER)
    live.pop("Tags/ModbusExample.csv")
    live["Tags/New.csv"] = b"Tag Name,Address,Data Type\r\nA,K1,Word\r\n"
    result = compare("kepware-project", "tags/kepware/maker", dict(MAKER), live)
    assert [(d["path"], d["changes"][0]["text"]) for d in result.diff][:2] == [
        ("tags/kepware/maker/Tags/ModbusExample.csv", "missing from the live export"),
        ("tags/kepware/maker/Tags/New.csv", "in the live export but not in Git")]
    assert result.summary().startswith(f"{len(result.texts())} changes: tags/kepware/maker/Tags/ModbusExample.csv: ")


def test_unreadable_live_content_is_reported_not_in_line() -> None:
    for junk in (b"", b"\x00\x01binary", b"<xml/>", b"[1, 2"):
        result = compare("kepware-project", "p.json", {"": SIMDEMO}, {"": junk})
        assert result.unreadable and not result.in_line, junk
