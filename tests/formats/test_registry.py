"""The registry: one entry point that never raises on content, summaries of big diffs, tag index."""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path

import pytest

import gatekeeper.formats
from gatekeeper.errors import ConfigError
from gatekeeper.formats import ADDED_LIMIT, CHANGE_LIMIT, FORMAT_NAMES, analyze, batchml, tag_index
from gatekeeper.formats.base import Analysis, Context
from tests.formats.fixtures import SAMPLES, read, tag_files

SAMPLE_FILES = [(fmt, name) for fmt, names in SAMPLES.items() for name in names]


def test_format_names_are_the_spec_names() -> None:
    assert FORMAT_NAMES == ("batchml", "ignition-tags", "kepware-project", "plcopen-xml", "erp-mapping-csv")


def test_unknown_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"format: unknown format 'csv' \(known: batchml, ignition-tags"):
        analyze("csv", "a.csv", None, b"x")


@pytest.mark.parametrize(("fmt", "name"), SAMPLE_FILES)
def test_added_sample_has_no_errors_and_lists_its_elements(fmt: str, name: str) -> None:
    result = analyze(fmt, name, None, read(name), Context(tag_index(tag_files())))
    # Projects using their runtime's or libraries' types (Beremiz LOGGER, CODESYS libraries) are told so
    # in warnings; no real file has an error.
    assert [f for f in result.findings if f.severity == "error"] == []
    assert all(f.message.endswith(("in this project", "in this file", "in any configuration"))
               for f in result.findings)
    assert result.changes and all(c.kind == "added" for c in result.changes[:ADDED_LIMIT])
    assert len(result.changes) <= ADDED_LIMIT + 1


def test_very_many_added_elements_are_summarised() -> None:
    result = analyze("kepware-project", "p.json", None, read("kepware/simdemo_en-us.json"))
    assert len(result.changes) == ADDED_LIMIT + 1
    summary = result.changes[-1]
    assert (summary.element, summary.text) == ("(summary)", "… and 401 more changes not listed (401 added)")


def test_very_many_changes_are_summarised_with_counts() -> None:
    def export(value: int) -> bytes:
        tags = [{"name": f"T{i}", "tagType": "AtomicTag", "value": value, "scaleMode": "Linear", "rawLow": 0,
                 "rawHigh": value} for i in range(CHANGE_LIMIT)]
        return json.dumps({"tags": tags}).encode()

    result = analyze("ignition-tags", "t.json", export(1), export(2))
    assert len(result.changes) == CHANGE_LIMIT + 1
    summary = result.changes[-1]
    assert (summary.text, summary.financial) == (f"… and {CHANGE_LIMIT} more changes not listed "
                                                 f"({CHANGE_LIMIT} changed)", True)


@pytest.mark.parametrize(("fmt", "name"), SAMPLE_FILES)
def test_deleted_file_has_no_findings_and_lists_removals(fmt: str, name: str) -> None:
    result = analyze(fmt, name, read(name), None)
    assert result.findings == ()
    assert {c.kind for c in result.changes} <= {"removed", "changed"}


def test_unchanged_file_has_no_changes() -> None:
    data = read("plcopen/plc.xml")
    assert analyze("plcopen-xml", "plc.xml", data, data) == Analysis()


def test_nothing_in_nothing_out() -> None:
    assert analyze("batchml", "r.xml", None, None) == Analysis()


def test_unreadable_old_version_falls_back_and_new_is_still_validated() -> None:
    new = read("ignition/native-tag-export.json").replace(b'"value": 5', b'"value": 5, "dataType": "Int9"')
    result = analyze("ignition-tags", "t.json", read("hostile/not-json.json"), new)
    assert [f.message for f in result.findings] == ["tag Sample Tags/Sample Tag 5: unknown dataType 'Int9'"]
    first = result.changes[0]
    assert first.element == "(file)"
    assert first.text.startswith("the previous version could not be read (not valid JSON: line 13 column 36")
    assert all(c.kind == "added" for c in result.changes[1:])


def test_unreadable_new_version_is_one_error_and_no_diff() -> None:
    old = read("batchml/ExampleGeneralRecipe.xml")
    result = analyze("batchml", "r.xml", old, b"<GRecipe><ID>1</GRecipe>")
    assert [(f.severity, f.location) for f in result.findings] == [("error", "line 1")]
    assert [c.text for c in result.changes] == [
        "the new version cannot be read, so there is no semantic diff (see the findings)"]


def test_a_checker_bug_fails_closed_as_an_error_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(batchml, "check", broken)
    [finding] = analyze("batchml", "r.xml", None, read("batchml/ExampleGeneralRecipe.xml")).findings
    assert finding.severity == "error"
    assert finding.message.startswith("internal error while checking batchml (RuntimeError: boom)")


def test_tag_index_covers_every_tag_of_the_sample_mapping() -> None:
    index = tag_index(tag_files())
    rows = csv.DictReader(io.StringIO(read("erp-mapping/production-postings.csv").decode()))
    assert {row["tag_path"] for row in rows} <= index


def test_tag_index_skips_bad_files_and_other_formats() -> None:
    files = [("bad.json", "ignition-tags", read("hostile/not-json.json")),
             ("kep/Channels/x.json", "kepware-project", read("hostile/blob.bin")),
             ("erp/p.csv", "erp-mapping-csv", read("erp-mapping/production-postings.csv")),
             ("t.json", "ignition-tags", read("ignition/native-tag-export.json"))]
    assert "Sample Tags/Sample Tag 1" in tag_index(files)
    assert tag_index([]) == frozenset()


def test_mapping_checked_against_the_index_through_analyze() -> None:
    context = Context(tag_index(tag_files()))
    data = read("erp-mapping/production-postings.bad.csv")
    bad = analyze("erp-mapping-csv", "erp/p.csv", None, data, context)
    assert len([f for f in bad.findings if f.severity == "error"]) == 4


ALLOWED_IMPORTS = {"__future__", "collections", "csv", "dataclasses", "difflib", "io", "json", "math", "posixpath",
                   "re", "typing", "xml", "defusedxml", "gatekeeper"}


@pytest.mark.parametrize("module", sorted(Path(gatekeeper.formats.__file__).parent.glob("*.py")),
                         ids=lambda path: path.name)
def test_formats_package_is_pure(module: Path) -> None:
    """No I/O: stdlib parsing modules and defusedxml only, no open/exec, no other layer of gatekeeper."""
    tree = ast.parse(module.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"open", "exec", "eval", "compile", "__import__"}, module.name
            continue
        for name in names:
            assert name.split(".")[0] in ALLOWED_IMPORTS, f"{module.name} imports {name}"
            if name.startswith("gatekeeper"):
                # policy.registry: the one list of format names, shared with the hooks (pure, light);
                # policy.codes: the reason codes findings carry (standard library only)
                assert name.startswith(("gatekeeper.formats", "gatekeeper.errors", "gatekeeper.policy.registry",
                                        "gatekeeper.policy.codes")), f"{module.name}: {name}"
