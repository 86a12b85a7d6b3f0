"""verify.py is one standard-library file made from the modules it lists, the same bytes every time, and
docs/audit.md lists its SHA-256 (so the release notes an auditor compares with stay true)."""

from __future__ import annotations

import ast
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.verifier import bundle

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("rel", bundle.MODULES)
def test_bundled_modules_import_only_the_standard_library(rel: str) -> None:
    for node in ast.walk(ast.parse((bundle.PACKAGE / rel).read_text())):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            top = name.split(".")[0]
            if top == "gatekeeper":
                module = name.removeprefix("gatekeeper.").replace(".", "/") + ".py"
                assert module in bundle.MODULES, f"{rel} imports {name}, which is not bundled"
            else:
                assert top in sys.stdlib_module_names or top == "__future__", f"{rel} imports {name}"


def test_the_bundle_is_deterministic_and_runs_on_its_own(tmp_path: Path) -> None:
    data = bundle.build()
    assert data == bundle.build.__wrapped__()  # type: ignore[attr-defined]
    (tmp_path / "verify.py").write_bytes(data)
    proc = subprocess.run([sys.executable, "-I", str(tmp_path / "verify.py"), "--help"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and "--key-id" in proc.stdout and "--trust" in proc.stdout


def test_docs_list_the_current_verifier_sha256() -> None:
    text = (ROOT / "docs" / "audit.md").read_text()
    listed = re.findall(r"\| *([0-9][^|]*?) *\| *`([0-9a-f]{64})` *\|", text)
    assert listed, "docs/audit.md lists no verifier SHA-256"
    from gatekeeper import __version__

    current = {v.strip(): h for v, h in listed}
    assert current.get(__version__) == hashlib.sha256(bundle.build()).hexdigest(), (
        f"docs/audit.md must list the verifier of gatekeeper {__version__}: "
        f"| {__version__} | `{bundle.sha256()}` | (gatekeeper audit verifier -o verify.py prints it)")
