"""``gatekeeper repo create|install-hooks``: bare repos with the server hooks, attested in the log."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError


@click.group()
def repo() -> None:
    """Set up bare repositories on the git server."""


_LAYOUT = click.option("--layout", type=click.Choice(["plain", "gitolite", "gitlab", "gitea"]), default="plain",
                       show_default=True, help="Where the git server runs hooks from (SPEC §11).")
_PYTHON = click.option("--python", "python", metavar="PATH",
                       help="Interpreter the hooks run with; the git server's user must be able to run it "
                            "(default: this one).")


def _install(app: AppContext, path: Path, name: str, layout: str = "plain", python: str | None = None) -> None:
    from gatekeeper.gitio import install
    from gatekeeper.store import log

    cfg = app.config
    if cfg.repo(name) is None:
        raise InputError(f"repo {name!r} is not in the policy file {cfg.path} (add a [[repos]] table)")
    attested = install.install(path, name, cfg.path, python=python, layout=layout)
    with app.store.write() as session:
        entry = log.append(session, attested)
    for hook in attested.chained or ():
        click.echo(f"kept the existing {hook} hook as {hook}.chained (it runs first)")
    click.echo(f"hooks installed in {path} for {name}; attested as log seq {entry.seq} "
               f"(sha256 {attested.sha256[:16]})")
    from gatekeeper.cli.policy import protection_lines

    for line in protection_lines(cfg.repo(name), path):  # type: ignore[arg-type]
        click.echo(line)


@repo.command("install-hooks")
@click.argument("path", type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", required=True, help="The repo's name in the policy file ([[repos]] name).")
@_LAYOUT
@_PYTHON
@sub_config_option
@pass_app
def install_hooks(app: AppContext, path: Path, name: str, layout: str, python: str | None) -> None:
    """Install the pre-receive and post-receive hooks into a bare repo."""
    if not path.is_dir():
        raise InputError(f"{path} is not a directory: give the bare repository's folder "
                         "(`gatekeeper repo create` makes a new one)")
    _install(app, path, name, layout, python)


@repo.command("create")
@click.argument("path", type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", required=True, help="The repo's name in the policy file ([[repos]] name).")
@_LAYOUT
@_PYTHON
@sub_config_option
@pass_app
def create(app: AppContext, path: Path, name: str, layout: str, python: str | None) -> None:
    """git init --bare, then install-hooks."""
    from gatekeeper.gitio import install

    if app.config.repo(name) is None:
        raise InputError(f"repo {name!r} is not in the policy file {app.config.path} (add a [[repos]] table)")
    install.init_bare(path)
    _install(app, path, name, layout, python)
