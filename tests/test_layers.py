"""The layers hold (docs/architecture.md): the pure core does no I/O, the hook's import path stays lean,
no layer imports one it must never reach, and the package imports have no cycle (STYLE: layout)."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "gatekeeper"
PURE = ["policy", "ledger", "formats"]
FORBIDDEN = {"flask", "sqlmodel", "sqlalchemy", "git", "ldap3", "requests", "urllib", "socket", "subprocess",
             "gatekeeper.store", "gatekeeper.web", "gatekeeper.directory.file", "gatekeeper.directory.ldap"}
# The hook runs on every push: it must not pay for the heavy libraries.
HOOK = ["gitio/hook.py", "gitio/hookconfig.py", "gitio/pushinfo.py", "gitio/receive.py", "gitio/plumbing.py",
        "gitio/http.py", "gitio/spool.py", "gitio/reflog.py", "errors.py", "terminal.py", "policy/categories.py",
        "policy/registry.py", "policy/refs.py"]
HEAVY = {"flask", "sqlmodel", "sqlalchemy", "git", "ldap3", "requests", "pydantic", "click", "dataclasses",
         "gatekeeper.config", "typing", "tomllib", "urllib", "http", "json"}
# (package, what it must never import, why): the arrows that would lean the layers the wrong way.
NEVER = [
    ("policy", {"config", "store", "web", "actions", "audit", "notify", "drift", "directory", "gitio", "cli",
                "itsm", "checkpoints", "bootstrap"}, "policy owns the vocabulary: config builds it, not the reverse"),
    ("ledger", {"policy", "config", "store", "web", "actions", "audit", "notify", "drift", "directory", "gitio",
                "cli", "checkpoints", "bootstrap", "formats"}, "the record is the ground everything else stands on"),
    ("formats", {"config", "store", "web", "actions", "audit", "notify", "drift", "directory", "gitio", "cli"},
     "a format module turns bytes into findings, nothing more"),
    ("config", {"store", "web", "actions", "audit", "notify", "drift", "directory", "gitio", "cli", "checkpoints",
                "bootstrap", "itsm"}, "the policy file is read into values; it knows no adapter"),
    ("store", {"notify", "actions", "audit", "web", "cli", "drift", "checkpoints", "bootstrap", "gitio"},
     "the store is only the database: what happens with an entry is a listener wired in bootstrap"),
    ("actions", {"audit", "web", "cli", "notify", "drift", "bootstrap"}, "use cases are called by the edges"),
    ("directory", {"store", "actions", "audit", "web", "cli", "notify", "drift", "gitio"},
     "an adapter answers who someone is"),
    ("checkpoints", {"actions", "audit", "web", "cli", "notify", "drift", "bootstrap"}, "an adapter"),
    ("notify", {"web", "cli", "audit", "bootstrap"}, "notifications are delivered, not rendered by pages"),
    ("audit", {"web", "cli", "bootstrap"}, "the auditor's read models serve the edges"),
    ("gitio", {"store", "actions", "audit", "web", "cli", "notify", "drift", "directory", "checkpoints"},
     "the hooks talk to the service over HTTP only"),
]


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        name = ".".join(p.relative_to(ROOT.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


MODULES = _modules()


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def module_level_imports(path: Path) -> set[str]:
    """Imports run when the module loads (not those in functions or under ``if TYPE_CHECKING``)."""
    names = set()
    for node in _tree(path).body:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def gatekeeper_imports(path: Path, *, module_level: bool = False) -> set[str]:
    """The gatekeeper modules ``path`` imports: ``from pkg import mod`` names ``pkg.mod``."""
    nodes = _tree(path).body if module_level else list(ast.walk(_tree(path)))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gatekeeper"):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                out.add(full if full in MODULES else node.module)
    return out


def hits(names: set[str], banned: set[str]) -> set[str]:
    return {n for n in names if any(n == b or n.startswith(b + ".") for b in banned)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def package(module: str) -> str:
    """``gatekeeper.policy.gate`` → ``policy``; ``gatekeeper.bootstrap`` → ``bootstrap``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@pytest.mark.parametrize("path", [p for d in PURE for p in sorted((ROOT / d).rglob("*.py"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_core_has_no_io_imports(path: Path) -> None:
    assert not hits(imports(path), FORBIDDEN)


@pytest.mark.parametrize("rel", HOOK)
def test_hook_import_path_is_lean(rel: str) -> None:
    assert not hits(module_level_imports(ROOT / rel), HEAVY)
    for name in gatekeeper_imports(ROOT / rel, module_level=True):  # and so is what it imports from gatekeeper
        assert name.removeprefix("gatekeeper.").replace(".", "/") + ".py" in HOOK, name


@pytest.mark.parametrize(("layer", "never", "why"), NEVER, ids=[n[0] for n in NEVER])
def test_a_layer_never_imports_what_stands_above_it(layer: str, never: set[str], why: str) -> None:
    found = {f"{name} imports {dep}" for name, path in MODULES.items() if package(name) == layer
             for dep in gatekeeper_imports(path) if package(dep) in never}
    assert not found, why


def test_the_packages_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph.setdefault(package(name), set()).update(
            package(d) for d in gatekeeper_imports(path) if package(d) != package(name))
    assert cycles(graph) == []


def test_no_module_imports_itself_back_when_loading() -> None:
    graph = {name: gatekeeper_imports(path, module_level=True) - {name} for name, path in MODULES.items()}
    assert cycles(graph) == []
