"""Join the verifier's modules into one standard-library file: the pack's ``verify.py`` (SPEC §12).

``gatekeeper audit verifier -o FILE`` writes it, every pack copies it, and docs/audit.md lists its
SHA-256 per release (tests/verifier/test_bundle.py keeps that true). The file is the modules below,
in this order, each under a header naming its source; their ``gatekeeper`` imports are dropped
(the names are defined above them in the same file) and their standard-library imports gathered
at the top. It is deterministic: the same sources give the same bytes.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
MODULES = ("ledger/jsoncodec.py", "ledger/merkle.py", "ledger/note.py", "ledger/legacy.py", "policy/codes.py",
           "verifier/logread.py", "verifier/names.py", "verifier/feed.py", "verifier/chain.py", "verifier/tables.py",
           "verifier/metrics.py", "verifier/access.py", "verifier/kinds.py", "verifier/projection.py",
           "verifier/trust.py", "verifier/packdir.py", "verifier/parallel.py", "verifier/files.py", "verifier/since.py",
           "verifier/checks.py", "verifier/cli.py")
HEADER = '''#!/usr/bin/env python3
"""verify.py: check a Gatekeeper evidence pack with nothing but Python 3.11+ and the `openssl` command.

    python3 verify.py [--key-id ID | --trust FILE] [--since CHECKPOINT_FILE] [FOLDER]

Run a copy you obtained independently of the pack (`gatekeeper audit verifier -o verify.py`, or the
release), and compare the SHA-256 it prints first with the one docs/audit.md lists for the release:
a forger can replace the pack's own copy. Exit 0: every check passed and the origin is pinned by the
key id (or trust file) you keep on record; 1: the first failure, named; 3: every check passed but no
origin was pinned (compare the printed key id with your records).

What it checks, in order, is listed in the section "gatekeeper/verifier/checks.py" below; what that
proves and what it cannot is in docs/audit.md. This file is generated from Gatekeeper's sources
(gatekeeper/verifier/bundle.py): each section names the module it comes from.
"""
'''


Imports = dict[str, set[str]]   # module -> names imported from it ("" key: plain ``import x``)


def _split(path: Path, imports: Imports) -> str:
    """A module's body without docstring and imports; its standard-library imports added to ``imports``."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    drop: set[int] = set()
    for node in tree.body:
        first, last = node.lineno, node.end_lineno or node.lineno
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]:
            drop.update(range(first, last + 1))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            drop.update(range(first, last + 1))
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            if module == "__future__" or (module or "").startswith("gatekeeper"):
                continue
            if isinstance(node, ast.Import) and any(a.name.startswith("gatekeeper") for a in node.names):
                raise ValueError(f"{path}: import gatekeeper modules by name (from gatekeeper.x import y)")
            for alias in node.names:
                name = alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"
                imports.setdefault((node.module or "") if isinstance(node, ast.ImportFrom) else "", set()).add(name)
    return "".join(line for n, line in enumerate(lines, 1) if n not in drop).strip("\n")


def _import_lines(imports: Imports) -> str:
    plain = [f"import {name}" for name in sorted(imports.get("", ()))]
    froms = [f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(imports.items()) if module]
    return "\n".join(plain + froms)


def _top_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


@cache
def build() -> bytes:
    """The verifier, one file."""
    seen: dict[str, str] = {}
    imports: Imports = {}
    parts: list[str] = []
    for rel in MODULES:
        path = PACKAGE / rel
        for name in _top_names(path):
            if name in seen:
                raise ValueError(f"{rel} and {seen[name]} both define {name}: the bundle would mix them up")
            seen[name] = rel
        body = _split(path, imports)
        doc = (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").splitlines()
        comment = "".join(f"# {line}".rstrip() + "\n" for line in doc)
        parts.append(f"# {'=' * 98}\n# gatekeeper/{rel}\n#\n{comment}# {'=' * 98}\n{body}\n")
    text = (HEADER + "\nfrom __future__ import annotations\n\n" + _import_lines(imports) + "\n\n\n"
            + "\n\n".join(parts) + '\n\nif __name__ == "__main__":\n    sys.exit(main(sys.argv))\n')
    return text.encode("utf-8")


def sha256() -> str:
    return hashlib.sha256(build()).hexdigest()
