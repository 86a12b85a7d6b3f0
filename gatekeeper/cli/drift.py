"""``gatekeeper drift check [--repo R] [--source S]`` (SPEC §11), for people and monitoring systems.

Prints one line per source, ``<name>: in line|drift|error: <summary>``, and exits 0 when all are
in line, 1 on any drift, 2 on any source error (2 wins). Every check is logged like a scheduled one.
"""

from __future__ import annotations

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option


@click.group()
def drift() -> None:
    """Is what the plant runs what was approved? Compare live exports with the protected branch."""


@drift.command("check")
@click.option("--repo", metavar="R", help="Only the sources of this repo.")
@click.option("--source", metavar="S", help="Only this source (its name in [[drift.sources]]).")
@sub_config_option
@pass_app
def check(app: AppContext, repo: str | None, source: str | None) -> int:
    """Check live sources against the approved content; exit 0 in line, 1 drift, 2 source error."""
    from gatekeeper.actions.context import Services
    from gatekeeper.drift.check import exit_code, run_checks, select_sources
    from gatekeeper.errors import GatekeeperError

    services = Services(config=app.config, store=None, directory=None)  # type: ignore[arg-type]
    select_sources(services, repo, source)  # bad names fail before the database is opened
    try:
        services.store = app.store
        results = run_checks(services, repo, source, trigger="cli")
    except GatekeeperError as exc:
        if exc.exit_code == 1:  # e.g. the database is unreachable: that is no drift (1), it is an error
            exc.exit_code = 2
        raise
    for result in results:
        click.echo(result.line())
    return exit_code(results)
