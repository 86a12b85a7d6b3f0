"""``gatekeeper check [PATH...]``: validate working-tree files by category, locally or in pre-commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError

TAG_FORMATS = ("ignition-tags", "kepware-project")


def _repo_root(start: Path) -> Path:
    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start, capture_output=True, text=True)
    return Path(out.stdout.strip()) if out.returncode == 0 else start


def _expand(paths: tuple[str, ...], root: Path) -> list[Path]:
    if not paths:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True)
        if out.returncode == 0:
            return [root / p.decode() for p in out.stdout.split(b"\x00") if p]
        return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(f for f in p.rglob("*") if f.is_file() and ".git" not in f.parts)
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return files


@click.command()
@click.argument("paths", nargs=-1)
@sub_config_option
@pass_app
def check(app: AppContext, paths: tuple[str, ...]) -> int:
    """Validate files by their category's format; exit 1 when any has errors."""
    from gatekeeper import formats
    from gatekeeper.policy.categories import classify

    cfg = app.config
    # Category patterns are relative to the repo root: find it from the first path given, else from here.
    first = Path(paths[0]) if paths else Path.cwd()
    root = _repo_root(first if first.is_dir() else first.resolve().parent)

    def rel(p: Path) -> str:
        try:
            return p.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return p.as_posix()

    def fmt_of(path: str) -> str | None:
        return next((c.format for c in classify(path, cfg.categories) if c.format), None)

    files = _expand(paths, root)
    everything = _expand((), root)
    tags = [(rel(p), f, p.read_bytes()) for p in everything if (f := fmt_of(rel(p))) in TAG_FORMATS]
    context = formats.tag_context(tags)
    errors = warnings = checked = 0
    for p in files:
        path = rel(p)
        fmt = fmt_of(path)
        if fmt is None:
            continue
        checked += 1
        result = formats.analyze(fmt, path, None, p.read_bytes(), context)
        for finding in result.findings:
            click.echo(f"{finding.path}:{finding.location}: {finding.severity}: {finding.message}")
            errors += finding.severity == "error"
            warnings += finding.severity == "warning"
    click.echo(f"gatekeeper check: {checked} file(s), {errors} error(s), {warnings} warning(s)", err=True)
    return 1 if errors else 0
