"""``gatekeeper session revoke USER``: sign a user out of every browser, on every host."""

from __future__ import annotations

import getpass

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option


@click.group()
def session() -> None:
    """Web sessions."""


@session.command("revoke")
@click.argument("username")
@sub_config_option
@pass_app
def revoke(app: AppContext, username: str) -> int:
    """End every web session of USERNAME now (e.g. a lost laptop, a leaver); logged as session.revoked."""
    from gatekeeper.actions.sessions import revoke_everywhere
    from gatekeeper.directory.lockout import identity_key

    name = identity_key(app.directory, username)
    n = revoke_everywhere(app.store, name, f"cli:{getpass.getuser()}", "cli")
    click.echo(f"gatekeeper: {n} session{'s' if n != 1 else ''} of {name} revoked")
    return 0
