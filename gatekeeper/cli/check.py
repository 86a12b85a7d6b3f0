"""``gatekeeper check [PATH...]``: validate working-tree files by category, locally or in pre-commit.

Every file named (or found) is accounted for: validated, skipped because its category has no format
(nothing to validate), or not checkable (outside the repo, not a regular file, a symbolic link,
unreadable, a name that is not UTF-8) — each skip is printed with its reason, so nobody is told "all
good" about a file nobody looked at. Exit codes: 0 at least one file validated and no errors; 1 error
findings, a file that could not be checked, or nothing validated at all (``--allow-none`` makes that
last case 0, for pre-commit runs on commits without formatted files); 2 a path that does not exist.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError
from gatekeeper.policy.categories import classify
from gatekeeper.policy.registry import TAG_FORMATS, format_of
from gatekeeper.policy.rules import Category

if TYPE_CHECKING:
    from gatekeeper.formats import Context


def _repo_root(start: Path) -> Path | None:
    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start, capture_output=True, text=True)
    return Path(out.stdout.strip()) if out.returncode == 0 else None


def _tracked(root: Path) -> list[Path] | None:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True)
    if out.returncode != 0:
        return None
    files = (root / os.fsdecode(p) for p in out.stdout.split(b"\x00") if p)
    return [f for f in files if f.exists() or f.is_symlink()]  # deleted in the working tree: nothing to check


def _expand(paths: tuple[str, ...], root: Path) -> list[Path]:
    if not paths:
        tracked = _tracked(root)
        if tracked is not None:
            return tracked
        return sorted(p for p in root.rglob("*") if not p.is_dir() and ".git" not in p.parts)
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir() and not p.is_symlink():
            files.extend(sorted(f for f in p.rglob("*") if not f.is_dir() and ".git" not in f.parts))
        elif p.exists() or p.is_symlink():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return files


@dataclass
class _Tree:
    """The work tree being checked: category patterns are relative to its ``root``."""

    root: Path
    categories: Sequence[Category]

    def rel(self, p: Path) -> str | None:
        try:
            return p.absolute().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            try:
                return p.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                return None

    def cats_of(self, path: str) -> tuple[str | None, str]:
        return format_of(path, self.categories), ", ".join(c.name for c in classify(path, self.categories))

    def problem(self, p: Path, path: str | None) -> str | None:
        """Why a file cannot be checked (it is then not validated, and the run fails)."""
        if path is None:
            return f"outside the repository {self.root} (category patterns are relative to its root)"
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            return "its name is not UTF-8; the service would refuse the push (rename it with git mv)"
        if p.is_symlink():
            return "a symbolic link: git stores the link, not the file it points to"
        if not p.is_file():
            return "not a regular file"
        return None

    def tag_context(self) -> Context:
        """The tag paths of the whole tree, which mapping files are checked against."""
        from gatekeeper import formats

        tags = []
        for p in _expand((), self.root):
            path = self.rel(p)
            if path is not None and self.problem(p, path) is None and self.cats_of(path)[0] in TAG_FORMATS:
                with contextlib.suppress(OSError):  # reported below if it is one of the files being checked
                    tags.append((path, str(self.cats_of(path)[0]), p.read_bytes()))
        return formats.tag_context(tags)


@dataclass
class _Counts:
    checked: int = 0
    skipped: int = 0
    unchecked: int = 0
    errors: int = 0
    warnings: int = 0

    def summary(self, allow_none: bool) -> str:
        out = (f"gatekeeper check: {self.checked} file(s) validated, {self.errors} error(s), {self.warnings} "
               f"warning(s); {self.skipped} skipped (nothing to validate), {self.unchecked} not checked")
        if self.unchecked:
            return out + " — FAILED: see the reasons above"
        if self.errors:
            return out + " — FAILED"
        if self.checked == 0:
            return out + " — nothing was validated" + ("" if allow_none else
                                                      " (exit 1; --allow-none accepts a run where no file needs "
                                                      "validating)")
        return out + " — OK"


def _check_one(tree: _Tree, p: Path, context: Context, counts: _Counts) -> None:
    """Validate one file, or say why it was skipped or could not be checked."""
    from gatekeeper import formats

    path = tree.rel(p)
    shown = (path if path is not None else str(p)).encode("utf-8", "surrogateescape").decode("utf-8",
                                                                                          "backslashreplace")
    if p.is_dir() and not p.is_symlink():  # a submodule listed by git ls-files
        click.echo(f"{shown}: skipped: a directory (a git submodule?), not a file", err=True)
        counts.skipped += 1
        return
    why = tree.problem(p, path)
    if why is None and path is not None:
        fmt, names = tree.cats_of(path)
        if fmt is None:
            click.echo(f"{shown}: skipped: category {names} has no format (nothing to validate; "
                       "the approval rules still apply when it is pushed)", err=True)
            counts.skipped += 1
            return
        try:
            data = p.read_bytes()
        except OSError as exc:
            why = f"cannot read it: {exc.strerror or exc}"
    if why is not None or path is None:
        click.echo(f"{shown}: not checked: {why}", err=True)
        counts.unchecked += 1
        return
    counts.checked += 1
    for finding in formats.validate(str(fmt), path, data, context):
        click.echo(f"{finding.path}:{finding.location}: {finding.severity}: {finding.message}")
        counts.errors += finding.severity == "error"
        counts.warnings += finding.severity == "warning"


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--allow-none", is_flag=True,
              help="Exit 0 when no file needed validating (pre-commit on a commit of docs only).")
@sub_config_option
@pass_app
def check(app: AppContext, paths: tuple[str, ...], allow_none: bool) -> int:
    """Validate files by their category's format; say which were skipped and why (exit codes: README)."""
    # Category patterns are relative to the repo root: find it from the first path given, else from here.
    first = Path(paths[0]) if paths else Path.cwd()
    start = first if first.is_dir() else first.resolve().parent
    root = _repo_root(start)
    if root is None:
        root = start.resolve()
        click.echo(f"gatekeeper check: note: {root} is not in a git work tree; paths are taken relative to it",
                   err=True)
    tree = _Tree(root, app.config.categories)
    files = _expand(paths, root)
    context = tree.tag_context()
    counts = _Counts()
    for p in files:
        _check_one(tree, p, context, counts)
    click.echo(counts.summary(allow_none), err=True)
    if counts.errors or counts.unchecked:
        return 1
    return 0 if counts.checked or allow_none else 1
