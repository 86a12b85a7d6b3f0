"""``gatekeeper directory hash-password|check``: tools for the directory."""

from __future__ import annotations

import sys

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError, NotFound


@click.group()
def directory() -> None:
    """Directory tools."""


@directory.command("hash-password")
def hash_password() -> None:
    """Print an argon2 hash for directory.toml; reads the password from stdin or a prompt, never argv."""
    from gatekeeper.directory.file import hash_password as make_hash

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError("empty password")
    click.echo(make_hash(password))


@directory.command("check")
@click.argument("username")
@sub_config_option
@pass_app
def check(app: AppContext, username: str) -> None:
    """Show a user as the directory sees them: name, email, DN and every group with its path."""
    d = app.directory
    user = d.get_user(username)
    if user is None:
        raise NotFound(f"user {username!r} not found in the {d.kind} directory")
    click.echo(f"username: {user.username}")
    click.echo(f"name:     {user.name}")
    click.echo(f"email:    {user.email}")
    if user.dn:
        click.echo(f"dn:       {user.dn}")
    memberships = d.memberships(username)
    click.echo("groups:" + ("" if memberships else "   (none)"))
    for m in memberships:
        path = " <- ".join(reversed(m.via)) if len(m.via) > 1 else "direct"
        click.echo(f"  {m.group}  ({path})" + (f"  [{m.dn}]" if m.dn else ""))
