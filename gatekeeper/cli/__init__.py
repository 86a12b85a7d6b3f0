"""The ``gatekeeper`` command: one root group, one module per command group (SPEC §5).

This root is the single boundary where errors become one line: ``GatekeeperError`` →
``gatekeeper: error: <message>`` and its exit code; anything else → ``unexpected error`` and exit 3;
Ctrl-C → 130. ``--debug`` re-raises so the traceback shows.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from gatekeeper.cli.context import AppContext, config_option
from gatekeeper.errors import GatekeeperError

SUBCOMMANDS = {
    "serve": "gatekeeper.cli.serve:serve",
    "repo": "gatekeeper.cli.repo:repo",
    "check": "gatekeeper.cli.check:check",
    "diff": "gatekeeper.cli.diff:diff",
    "change": "gatekeeper.cli.change:change",
    "log": "gatekeeper.cli.log:log",
    "audit": "gatekeeper.cli.audit:audit",
    "directory": "gatekeeper.cli.directory:directory",
    "keys": "gatekeeper.cli.keys:keys",
    "db": "gatekeeper.cli.db:db",
    "demo": "gatekeeper.cli.demo:demo",
    "policy": "gatekeeper.cli.policy:policy",
    "config": "gatekeeper.cli.policy:config_group",
    "notify": "gatekeeper.cli.notify:notify",
    "drift": "gatekeeper.cli.drift:drift",
    "session": "gatekeeper.cli.session:session",
    "access": "gatekeeper.cli.access:access",
    "witness": "gatekeeper.cli.witness:witness",
}


class LazyGroup(click.Group):
    """Imports a command module only when it runs, so ``--help`` and small commands stay quick."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        import importlib

        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        cmd: click.Command = getattr(module, attr)
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="gatekeeper")
@click.pass_context
def cli(ctx: click.Context, config: str | None, debug: bool) -> None:
    """Gatekeeper: SOC 1 change-management controls for OT configuration in Git."""
    obj = ctx.ensure_object(AppContext)
    obj.debug = obj.debug or debug
    if config:
        obj.config_path = config


def main(argv: Sequence[str] | None = None) -> int:
    from gatekeeper.cli.tty import shown_on_terminals

    with shown_on_terminals():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        rc = cli.main(args=args, prog_name="gatekeeper", standalone_mode=False, obj=AppContext(debug=debug))
        return rc if isinstance(rc, int) else 0
    except GatekeeperError as exc:
        if debug:
            raise
        click.echo(f"gatekeeper: error: {exc.message}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.Abort:
        click.echo("gatekeeper: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"gatekeeper: error: {exc.format_message()}{suggestion(exc)}", err=True)
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        click.echo("gatekeeper: interrupted", err=True)
        return 130
    except Exception as exc:
        if debug:
            raise
        click.echo(f"gatekeeper: unexpected error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        return 3


def suggestion(exc: click.ClickException) -> str:
    """``did you mean 'verify'?`` for a mistyped command at any level (``gatekeeper log verfy``)."""
    import difflib
    import re

    ctx = getattr(exc, "ctx", None)
    m = re.match(r"No such command '(.+)'", exc.format_message())
    if m is None or ctx is None or not isinstance(ctx.command, click.Group):
        return ""
    names = ctx.command.list_commands(ctx)
    if "did you mean" in exc.format_message().lower():  # click found a close one already
        return f" ({ctx.command_path} --help lists the commands)"
    close = difflib.get_close_matches(m.group(1), names, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'? ({ctx.command_path} --help lists the commands)"
    return f" ({ctx.command_path} --help lists the commands: {', '.join(names)})"
