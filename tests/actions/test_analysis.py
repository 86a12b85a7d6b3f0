"""Format analysis of a push (``actions.analysis``): findings and semantic diff per file, a too-large
validated file is an error, unchanged mapping files are re-checked against changed tags."""

from __future__ import annotations

import base64
from pathlib import Path

from gatekeeper import config
from gatekeeper.actions.analysis import analyze
from gatekeeper.actions.payloads import UpdateIn
from tests.support.plant import make_plant

NULL, SHA = "0" * 40, "a" * 40


def change(path: str, old: bytes | None, new: bytes | None, **kw: object) -> dict[str, object]:
    out: dict[str, object] = {"path": path, "old_blob": SHA if old is not None else NULL, "new_blob": "b" * 40,
                              "old_mode": "100644", "new_mode": "100644", **kw}
    if old is not None:
        out["old_content"] = base64.b64encode(old).decode()
    if new is not None:
        out["new_content"] = base64.b64encode(new).decode()
    return out


def test_findings_and_diffs_per_file(tmp_path: Path) -> None:
    cfg = config.load(make_plant(tmp_path).config)
    update = UpdateIn.model_validate({"ref": "refs/heads/t", "old": NULL, "new": SHA, "changes": [
        change("recipes/r1.xml", None, b"<not-xml"),
        change("cfg/notes.txt", b"a\nb\n", b"a\nc\n"),
        change("recipes/big.xml", None, None, new_too_large=99_999_999),
    ]})
    findings, diff = analyze(cfg, update)
    by_path = {f["path"]: f for f in findings}
    assert by_path["recipes/r1.xml"]["severity"] == "error" and by_path["recipes/r1.xml"]["code"] == "format.invalid"
    assert by_path["recipes/big.xml"]["code"] == "format.too_large" and "99999999 bytes" in by_path[
        "recipes/big.xml"]["message"]
    formats = {d["path"]: d["format"] for d in diff}
    assert formats == {"recipes/r1.xml": "batchml", "cfg/notes.txt": None, "recipes/big.xml": None}
    plain = next(d for d in diff if d["path"] == "cfg/notes.txt")["changes"]
    assert plain  # a plain text file still shows what changed
    assert "cfg/notes.txt" not in by_path
