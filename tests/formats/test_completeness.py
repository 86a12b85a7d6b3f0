"""Completeness of the semantic diff as a property, per format (issue 26): change any leaf value or
attribute of a real file and the diff is not empty; change only what carries no meaning (sibling
order where the format ignores it, indentation, key order, encoding, line endings) and it is empty.

Approvers sign what the diff shows; a change it hides is a change nobody approved. Leaves the
model does not read still show, as ``uninterpreted change at <path>: old → new``.
"""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from typing import Any

from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped, unused-ignore]
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.formats import analyze
from tests.formats.fixtures import read

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
XML_FILES = [("batchml", "batchml/ExampleGeneralRecipe.xml"), ("batchml", "batchml/MasterRecipe_B2MML.xml"),
             ("plcopen-xml", "plcopen/plc.xml")]
NEW_VALUE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=6)


def changes(fmt: str, path: str, old: bytes, new: bytes) -> list[str]:
    return [change.text for change in analyze(fmt, path, old, new).changes]


# -- XML: BatchML and PLCopen ------------------------------------------------------------------------------

def _xml_slots(root: ET.Element) -> list[tuple[ET.Element, str | None]]:
    """Every leaf the file has: (element, None) for an element's text, (element, name) for an attribute."""
    slots: list[tuple[ET.Element, str | None]] = []
    for node in root.iter():
        slots.extend((node, attr) for attr in node.attrib if not attr.startswith("{"))
        if len(node) == 0 or (node.text or "").strip():
            slots.append((node, None))
    return slots


def _serialised(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@SETTINGS
@given(which=st.integers(0, len(XML_FILES) - 1), pick=st.integers(min_value=0), value=NEW_VALUE)
def test_xml_any_changed_leaf_shows(which: int, pick: int, value: str) -> None:
    fmt, name = XML_FILES[which]
    root = fromstring(read(name))
    old = _serialised(root)
    node, attr = (slots := _xml_slots(root))[pick % len(slots)]
    before = node.get(attr, "") if attr else (node.text or "").strip()
    after = value if value != before else value + "x"
    if attr:
        node.set(attr, after)
    else:
        node.text = after
    found = changes(fmt, name, old, _serialised(root))
    assert found, f"{name}: {node.tag} {attr or 'text'} {before!r} → {after!r} shows nothing"
    if fmt == "batchml":  # its model reads every leaf: shown by the element's label, not as a raw path
        assert not any(text.startswith("uninterpreted") for text in found), found


@SETTINGS
@given(which=st.integers(0, len(XML_FILES) - 1), indent=st.sampled_from(["", " ", "\t", "    "]),
       encoding=st.sampled_from(["utf-8", "utf-16"]))
def test_xml_indentation_and_encoding_show_nothing(which: int, indent: str, encoding: str) -> None:
    fmt, name = XML_FILES[which]
    old = read(name)
    root = fromstring(old)
    if indent:
        ET.indent(root, space=indent)
    new = ET.tostring(root, encoding=encoding, xml_declaration=True)
    assert changes(fmt, name, old, new) == []


def test_a_batchml_value_change_names_the_parameter_not_a_path() -> None:
    old = read("batchml/MasterRecipe_B2MML.xml")
    new = old.replace(b"<b2mml:ValueString>15<", b"<b2mml:ValueString>20<", 1)
    assert changes("batchml", "r.xml", old, new) == ["parameter HC29_Duration_of_the_process_step_mixing 15 → 20 s"]


def test_a_change_the_model_does_not_explain_is_an_uninterpreted_change() -> None:
    """The second of two tags with one path is refused (an error) and not modelled; its edit still shows."""
    def export(value: int) -> bytes:
        return json.dumps({"tags": [{"name": "T", "value": 1}, {"name": "t", "value": value}]}).encode()

    assert changes("ignition-tags", "t.json", export(2), export(3)) == ["uninterpreted change at /tags/1/value: 2 → 3"]


# -- JSON: Ignition and Kepware ----------------------------------------------------------------------------

def _json_leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _json_leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _json_leaves(item, (*path, index))]
    return [path]


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


def _simdemo_channel() -> bytes:
    document = json.loads(read("kepware/simdemo_en-us.json").decode("utf-8-sig"))
    return json.dumps({"project": {**document["project"], "channels": document["project"]["channels"][:1]}},
                      indent=2).encode()


JSON_FILES = [("ignition-tags", "ignition/full-tag-export.json", lambda: read("ignition/full-tag-export.json")),
              ("ignition-tags", "ignition/native-tag-export.json", lambda: read("ignition/native-tag-export.json")),
              ("kepware-project", "kepware/simdemo.json", _simdemo_channel)]


def _mutated(value: Any, text: str) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return f"{value}{text}" if value is not None else text


@SETTINGS
@given(which=st.integers(0, len(JSON_FILES) - 1), pick=st.integers(min_value=0), text=NEW_VALUE)
def test_json_any_changed_leaf_shows(which: int, pick: int, text: str) -> None:
    fmt, name, load = JSON_FILES[which]
    old = load()
    document = json.loads(old.decode("utf-8-sig"))
    path = (leaves := _json_leaves(document))[pick % len(leaves)]
    before = document
    for step in path:
        before = before[step]
    _set(document, path, _mutated(before, text))
    found = changes(fmt, name, old, json.dumps(document).encode())
    assert found, f"{name}: {path} changed, nothing shown"
    assert not any(line.startswith("uninterpreted") for line in found), found


def _shuffled(value: Any, rng: random.Random) -> Any:
    """Key order and tag order shuffled (Ignition and Kepware compare tags by name, not position)."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        items = [_shuffled(item, rng) for item in value]
        if all(isinstance(item, dict) and ("name" in item or "common.ALLTYPES_NAME" in item) for item in items):
            rng.shuffle(items)
        return items
    return value


@SETTINGS
@given(which=st.integers(0, len(JSON_FILES) - 1), seed=st.integers(0, 2**16), indent=st.sampled_from([None, 1, 4]),
       bom=st.booleans())
def test_json_key_order_tag_order_and_encoding_show_nothing(which: int, seed: int, indent: int | None,
                                                            bom: bool) -> None:
    fmt, name, load = JSON_FILES[which]
    old = load()
    new = json.dumps(_shuffled(json.loads(old.decode("utf-8-sig")), random.Random(seed)), indent=indent,
                     ensure_ascii=seed % 2 == 0).encode()
    assert changes(fmt, name, old, (b"\xef\xbb\xbf" if bom else b"") + new) == []


# -- CSV: ERP mappings and Kepware tag lists --------------------------------------------------------------

CSV_FILES = [("erp-mapping-csv", "erp-mapping/production-postings.csv"),
             ("kepware-project", "kepware/Tags/ModbusExample.csv")]


@SETTINGS
@given(which=st.integers(0, len(CSV_FILES) - 1), pick=st.integers(min_value=0), text=NEW_VALUE)
def test_csv_any_changed_cell_shows(which: int, pick: int, text: str) -> None:
    fmt, name = CSV_FILES[which]
    old = read(name)
    lines = old.decode("utf-8-sig").splitlines()
    row = 1 + pick % (len(lines) - 1)
    cells = lines[row].split(",")
    column = (pick // len(lines)) % len(cells)
    cells[column] = f'"{cells[column].strip(chr(34))}{text}"'
    lines[row] = ",".join(cells)
    assert changes(fmt, name, old, "\r\n".join(lines).encode()), f"{name}: line {row + 1} cell {column + 1}"


@SETTINGS
@given(which=st.integers(0, len(CSV_FILES) - 1), seed=st.integers(0, 2**16), crlf=st.booleans())
def test_csv_row_order_and_line_endings_show_nothing(which: int, seed: int, crlf: bool) -> None:
    fmt, name = CSV_FILES[which]
    old = read(name)
    header, *rows = old.decode("utf-8-sig").splitlines()
    random.Random(seed).shuffle(rows)
    new = ("\r\n" if crlf else "\n").join([header, *rows]) + "\n"
    assert changes(fmt, name, old, new.encode()) == []
