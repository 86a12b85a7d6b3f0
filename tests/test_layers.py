"""The pure core does no I/O: no flask, sqlmodel, git, ldap3 or requests imports (STYLE: layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "gatekeeper"
PURE = ["policy", "ledger", "formats"]
FORBIDDEN = {"flask", "sqlmodel", "sqlalchemy", "git", "ldap3", "requests", "urllib", "socket", "subprocess",
             "gatekeeper.store", "gatekeeper.web", "gatekeeper.directory.file", "gatekeeper.directory.ldap"}
# The hook runs on every push: it must not pay for the heavy libraries.
HOOK = ["gitio/hook.py", "gitio/hookconfig.py", "gitio/pushinfo.py", "gitio/receive.py", "gitio/plumbing.py",
        "gitio/http.py", "gitio/spool.py", "errors.py", "policy/categories.py", "policy/registry.py"]
HEAVY = {"flask", "sqlmodel", "sqlalchemy", "git", "ldap3", "requests", "pydantic", "click", "dataclasses",
         "gatekeeper.config", "typing", "tomllib", "urllib", "http", "json"}


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def module_level_imports(path: Path) -> set[str]:
    """Imports run when the module loads (not those in functions or under ``if TYPE_CHECKING``)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def hits(names: set[str], banned: set[str]) -> set[str]:
    return {n for n in names if any(n == b or n.startswith(b + ".") for b in banned)}


@pytest.mark.parametrize("path", [p for d in PURE for p in sorted((ROOT / d).rglob("*.py"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_core_has_no_io_imports(path: Path) -> None:
    assert not hits(imports(path), FORBIDDEN)


@pytest.mark.parametrize("rel", HOOK)
def test_hook_import_path_is_lean(rel: str) -> None:
    assert not hits(module_level_imports(ROOT / rel), HEAVY)
