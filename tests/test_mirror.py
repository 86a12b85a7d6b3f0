"""Tests mirror modules: every module of ``policy/``, ``actions/``, ``ledger/`` (with its subpackages),
``store/`` and ``gitio/`` has its own test module at the mirrored path, so a new module comes with
its tests (``gatekeeper/policy/rules.py`` → ``tests/policy/test_rules.py``). Package ``__init__``
modules and Alembic's generated ``store/migrations/versions/`` are left out (the migrations are
tested as a whole by ``tests/store/test_schema.py``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[1]
MIRRORED = ["policy", "actions", "ledger", "store", "gitio"]
SKIPPED = [Path("store/migrations/versions")]


def mirror(module: Path) -> Path:
    """``policy/rules.py`` → ``tests/policy/test_rules.py``."""
    return Path("tests") / module.parent / f"test_{module.name}"


def modules() -> list[Path]:
    pkg = ROOT / "gatekeeper"
    found = []
    for package in MIRRORED:
        for path in sorted((pkg / package).rglob("*.py")):
            rel = path.relative_to(pkg)
            if path.name != "__init__.py" and not any(rel.is_relative_to(s) for s in SKIPPED):
                found.append(rel)
    return found


def test_every_module_has_its_mirrored_test_module() -> None:
    missing = [f"gatekeeper/{m} → {mirror(m)}" for m in modules() if not (ROOT / mirror(m)).is_file()]
    assert not missing, "modules without their own test module:\n  " + "\n  ".join(missing)


def test_mirrored_test_folders_are_packages() -> None:
    """A test folder without ``__init__.py`` would clash with another one's module names."""
    folders = {(ROOT / mirror(m)).parent for m in modules()}
    assert all((f / "__init__.py").is_file() for f in folders), sorted(
        str(f) for f in folders if not (f / "__init__.py").is_file())


def test_the_check_sees_the_modules_it_is_about() -> None:
    found = modules()
    assert Path("policy/rules.py") in found and Path("ledger/events/base.py") in found
    assert Path("store/migrations/env.py") in found and not any(m.name == "__init__.py" for m in found)
    assert not any(m.is_relative_to("store/migrations/versions") for m in found)
