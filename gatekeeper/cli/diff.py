"""``gatekeeper diff OLD NEW [--path P]`` and ``gatekeeper diff --git …`` (SPEC §12): the semantic
diff an approver will see, before pushing.

The changes come from :func:`gatekeeper.formats.analyze`, the function the service runs for the
change page, so the lines here are the lines there; the findings of NEW follow. The format is the
policy's for ``--path`` (or git's path), else inferred from the content, so the command works in a
repo without a policy file too. Exit 0; 2 when an input cannot be read.

As git's external diff driver (``GIT_EXTERNAL_DIFF`` or ``diff.<driver>.command``), git passes seven
arguments: ``path old-file old-hex old-mode new-file new-hex new-mode`` (nine on a rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import ConfigError, InputError
from gatekeeper.formats.base import ICONS

NULL = "/dev/null"


@click.command()
@click.argument("files", nargs=-1, metavar="OLD NEW")
@click.option("--path", "path", metavar="P", help="The file's path in the repo (picks the policy's format).")
@click.option("--git", "git", is_flag=True,
              help="Run as git's external diff driver: takes the seven arguments git passes.")
@sub_config_option
@pass_app
def diff(app: AppContext, files: tuple[str, ...], path: str | None, git: bool) -> int:
    """Print the semantic diff OLD → NEW as approvers see it, then NEW's findings (exit 0; 2: unreadable)."""
    if git:
        if len(files) not in (7, 9):
            raise click.UsageError(f"--git takes the 7 arguments git passes (path old-file old-hex old-mode "
                                   f"new-file new-hex new-mode), got {len(files)}")
        shown = files[7] if len(files) == 9 else files[0]  # a rename: git adds the new path
        old_file, new_file = files[1], files[4]
        click.echo(f"diff --gatekeeper a/{files[0]} b/{shown}")
        _show(app, shown, _read(old_file), _read(new_file))
        return 0
    if len(files) != 2:
        raise click.UsageError("give two files: OLD NEW (or --git with the arguments git passes)")
    _show(app, path or files[1], _read(files[0]), _read(files[1]), explicit_path=path is not None)
    return 0


def _read(name: str) -> bytes | None:
    """File content; ``/dev/null`` (git's side of an added or deleted file) is no file."""
    from gatekeeper.formats._common import MAX_BYTES

    if name == NULL:
        return None
    try:
        with Path(name).open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # bounded: a huge file or a device is refused, not read whole
    except IsADirectoryError as exc:
        raise InputError(f"{name}: is a directory, not a file") from exc
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_BYTES:
        raise InputError(f"{name}: larger than the {MAX_BYTES // (1024 * 1024)} MB limit for configuration files")
    return data


def _show(app: AppContext, path: str, old: bytes | None, new: bytes | None, explicit_path: bool = True) -> None:
    from gatekeeper import formats
    from gatekeeper.formats.infer import infer_format

    fmt = _policy_format(app, path) if explicit_path else None
    fmt = fmt or infer_format(path, new if new is not None else old or b"")
    if fmt is None:
        click.echo(f"{path}: no semantic format (not in a category with a format, and the content is none of "
                   f"{', '.join(formats.FORMAT_NAMES)}); use git diff for its lines")
        return
    result = formats.analyze(fmt, path, old, new)
    click.echo(f"{path} ({fmt})")
    if not result.changes:
        click.echo("  No semantic change (formatting or ordering only).")
    for change in result.changes:
        click.echo(f"  {ICONS.get(change.kind, '•')} {change.text}" + ("  [financial]" if change.financial else ""))
        for line in (change.diff or "").splitlines():
            click.echo(f"      {line}")
    if result.findings:
        click.echo(f"findings in the new version ({len(result.findings)}):")
    for found in result.findings:
        click.echo(f"  {found.path}:{found.location}: {found.severity}: {found.message}")


def _policy_format(app: AppContext, path: str) -> str | None:
    """The format the policy gives ``path``; none when no policy file is found (not an error: the
    content decides then), but a policy that is there and broken is an error."""
    from gatekeeper.config import find_config_path
    from gatekeeper.policy.registry import format_of

    if app.config_path is None and not find_config_path().is_file():
        return None
    try:
        return format_of(path.replace(os.sep, "/"), app.config.categories)
    except ConfigError:
        if app.config_path is None and not os.environ.get("GATEKEEPER_CONFIG"):
            return None
        raise
