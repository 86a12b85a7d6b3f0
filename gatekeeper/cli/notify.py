"""``gatekeeper notify run [--once]``: deliver what is due from the outbox (SPEC §11), for cron/systemd.

Safe next to ``gatekeeper serve``'s own worker thread and on several hosts: deliveries are claimed
row by row (``notify.outbox.claim``), so each is sent by one worker.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import ConfigError

if TYPE_CHECKING:
    from gatekeeper.actions.context import Services


@click.group()
def notify() -> None:
    """Notifications: e-mail, webhooks and ITSM work notes from the outbox."""


def _services(app: AppContext) -> Services:
    from gatekeeper.actions.context import Services

    cfg = app.config
    if not (cfg.notify.enabled or cfg.itsm is not None):
        raise ConfigError("nothing to deliver: the policy has no [notify.smtp], [[notify.webhooks]] or [itsm]",
                          file=str(cfg.path), key="notify")
    return Services(config=cfg, store=app.store, directory=app.directory)


@notify.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (exit 1 if any delivery died).")
@sub_config_option
@pass_app
def run(app: AppContext, once: bool) -> int:
    """Deliver due notifications, retrying failures with backoff; runs until stopped unless --once."""
    from gatekeeper.notify.worker import Worker

    worker = Worker(_services(app))
    if once:
        stats = worker.run_once()
        click.echo(f"gatekeeper: notify: {stats.line()}", err=True)
        for err in stats.errors:
            click.echo(f"gatekeeper: notify: {err}", err=True)
        return 1 if stats.dead else 0
    click.echo(f"gatekeeper: notify: delivering every {worker.cfg.interval_seconds:g} s; Ctrl-C to stop", err=True)
    stop = threading.Event()
    try:
        worker.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


@notify.command()
@sub_config_option
@pass_app
def status(app: AppContext) -> int:
    """Count outbox rows by state (pending, sending, sent, dead, ...)."""
    from gatekeeper.notify import outbox

    with app.store.read() as s:
        counts = outbox.counts(s)
    for state in sorted(counts):
        click.echo(f"{state}: {counts[state]}")
    return 1 if counts.get(outbox.DEAD) else 0
