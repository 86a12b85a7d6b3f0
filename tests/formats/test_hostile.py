"""Hostile input: every format turns it into one clear error finding; nothing is read, nothing hangs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from gatekeeper.formats import FINDING_LIMIT, FORMAT_NAMES, analyze
from gatekeeper.formats._common import MAX_BYTES
from gatekeeper.formats.erp_mapping import COLUMNS
from tests.formats.fixtures import read

XML = ("batchml", "plcopen-xml")
JSON = ("ignition-tags", "kepware-project")
TEXTS = ("hostile/xxe.xml", "hostile/billion-laughs.xml", "hostile/not-json.json")

# (hostile file, path it is pushed as, formats, expected message)
TABLE = [
    *[("hostile/xxe.xml", "x.xml", fmt, r"XML external entities are not allowed \(entity 'xxe' refers to "
       r"file:///etc/passwd; nothing was read\)") for fmt in XML],
    *[("hostile/billion-laughs.xml", "x.xml", fmt, r"entity expansion is not allowed \(the file declares "
       r"entity 'lol'\)") for fmt in XML],
    *[("hostile/not-json.json", "x.xml", fmt, r"not XML: .* must start with '<' \(found '\{'\)")
      for fmt in XML],
    *[(name, "x.json", fmt, r"not valid JSON: line 1 column 1: found XML \('<'\) where .* JSON was expected")
      for name in ("hostile/xxe.xml", "hostile/billion-laughs.xml") for fmt in JSON],
    *[("hostile/not-json.json", "x.json", fmt, r"not valid JSON: line 13 column 36: Unterminated string")
      for fmt in JSON],
    *[(name, "x.csv", "erp-mapping-csv", r"not an ERP mapping CSV: the first line must be the header "
       r"mapping_id,plant,") for name in TEXTS],
    *[(name, "Tags/x.csv", "kepware-project", r"not a Kepware tag CSV: header lacks Tag Name, Address")
      for name in TEXTS],
    *[("hostile/blob.bin", path, fmt, rf"binary file \(NUL bytes\) where {fmt} text was expected")
      for fmt in FORMAT_NAMES for path in ("x.bin", "x.csv")],
]


@pytest.mark.parametrize(("name", "path", "fmt", "message"), TABLE,
                         ids=[f"{row[0].split('/')[1]}-{row[2]}-{row[1]}" for row in TABLE])
def test_hostile_file_is_one_clear_error(name: str, path: str, fmt: str, message: str) -> None:
    started = time.process_time()  # CPU time: a machine busy with other work does not slow it, a bomb would
    result = analyze(fmt, path, None, read(name))
    assert time.process_time() - started < 1.0
    [finding] = result.findings
    assert finding.severity == "error"
    assert finding.location in ("line 1", "line 3", "line 13")
    assert re.match(message, finding.message), finding.message
    assert [c.element for c in result.changes] == ["(file)"]


@pytest.mark.parametrize("name", ["hostile/xxe.xml", "hostile/billion-laughs.xml", "hostile/not-json.json",
                                  "hostile/blob.bin"])
@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_hostile_old_version_never_breaks_the_diff(name: str, fmt: str) -> None:
    result = analyze(fmt, "x", read(name), None)
    assert result.findings == ()
    assert result.changes[0].element == "(file)"


def xxe_to(target: Path, root: str = "GRecipe") -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY s SYSTEM "file://{target}">]>\n'
            f"<{root}><ID>&s;</ID></{root}>").encode()


@pytest.mark.parametrize("fmt", XML)
@pytest.mark.parametrize("variant", ["entity", "parameter-entity", "external-dtd"])
def test_no_local_file_is_ever_read(tmp_path: Path, fmt: str, variant: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4711")
    data = {
        "entity": xxe_to(secret, "project" if fmt == "plcopen-xml" else "GRecipe"),
        "parameter-entity": f'<!DOCTYPE r [<!ENTITY % p SYSTEM "file://{secret}"> %p;]><r/>'.encode(),
        "external-dtd": f'<!DOCTYPE r SYSTEM "file://{secret}"><r>&x;</r>'.encode(),
    }[variant]
    result = analyze(fmt, "x.xml", None, data)
    assert "TOPSECRET" not in repr(result)
    assert any(f.severity == "error" for f in result.findings)


@pytest.mark.parametrize(("fmt", "data", "message"), [
    ("batchml", b"<a>" * 10_000 + b"</a>" * 10_000, "XML nesting deeper than 200 levels (line 1)"),
    ("plcopen-xml", b"<a>" * 201 + b"</a>" * 201, "XML nesting deeper than 200 levels (line 1)"),
    ("ignition-tags", b"[" * 100_000 + b"]" * 100_000, "JSON nesting deeper than 200 levels"),
    ("kepware-project", b'{"a":' * 250 + b"1" + b"}" * 250, "JSON nesting deeper than 200 levels"),
    ("ignition-tags", b'{"tags": [], "n": NaN}', "not valid JSON: NaN is not a JSON number"),
    ("ignition-tags", b'{"n": ' + b"9" * 5000 + b"}", "not valid JSON: Exceeds the limit"),
    ("erp-mapping-csv", b"mapping_id\n\xff\xfe1\n", "not valid UTF-8 text: byte 11 (line 2)"),
    ("erp-mapping-csv", b'mapping_id\n"unterminated\n', "not valid CSV: line 2: unexpected end of data"),
    ("batchml", b'<?xml version="1.0" encoding="klingon"?><a/>',
     "cannot read XML: unknown encoding: klingon"),
])
def test_malformed_input_is_an_error_finding(fmt: str, data: bytes, message: str) -> None:
    [finding] = analyze(fmt, "x", None, data).findings
    assert (finding.severity, finding.message[: len(message)]) == ("error", message)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_oversize_file_is_refused_before_parsing(fmt: str) -> None:
    started = time.process_time()
    [finding] = analyze(fmt, "x", None, b" " * (MAX_BYTES + 1)).findings
    assert finding.message == f"file exceeds 20 MB limit ({MAX_BYTES + 1} bytes)"
    assert time.process_time() - started < 1.0


def test_utf16_with_bom_is_text_not_binary() -> None:
    data = '{"tags": [{"name": "Tägs", "tagType": "AtomicTag"}]}'.encode("utf-16")
    assert analyze("ignition-tags", "t.json", None, data).findings == ()


@pytest.mark.parametrize(("fmt", "data"), [
    ("batchml", b"<GRecipe><ID>R</ID>" + b"<Material><ID>M</ID></Material>" * 60_000 + b"</GRecipe>"),
    ("ignition-tags", b'{"tags": [' + b",".join([b'{"name": "T", "dataType": "X"}'] * 60_000) + b"]}"),
    ("erp-mapping-csv", ",".join(COLUMNS).encode() + b"\n" + b"M,1,x,t,s,o,f,u,-1,n,m,c,f\n" * 30_000),
])
def test_a_flood_of_defects_stays_fast_and_is_summarised(fmt: str, data: bytes) -> None:
    started = time.process_time()
    result = analyze(fmt, "x", None, data)
    assert time.process_time() - started < 5.0  # linear work; a quadratic step would take minutes
    assert len(result.findings) == FINDING_LIMIT + 1
    assert re.fullmatch(r"… and \d+ more findings not listed \(\d+ errors, \d+ warnings\)",
                        result.findings[-1].message)
