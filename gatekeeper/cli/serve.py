"""``gatekeeper serve``: the approval service on waitress (production: gunicorn, see README)."""

from __future__ import annotations

from typing import Any

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=None, type=int, help="Default: the port of service.url.")
@click.option("--threads", default=8, show_default=True, type=int)
@sub_config_option
@pass_app
def serve(app: AppContext, host: str, port: int | None, threads: int) -> None:
    """Run the approval service."""
    from urllib.parse import urlsplit

    from waitress import serve as waitress_serve

    from gatekeeper.notify.worker import start_background
    from gatekeeper.web import create_app

    flask_app = create_app(app.config)
    stop_notify = start_background(flask_app.extensions["gatekeeper"])  # the outbox worker (issue 14)
    port = port or urlsplit(app.config.service.url).port or 8080
    click.echo(f"gatekeeper: serving on http://{host}:{port} (policy {app.config.path})", err=True)
    for line in _protection(flask_app):
        click.echo(f"gatekeeper: {line}", err=True)
    try:
        waitress_serve(flask_app, host=host, port=port, threads=threads, ident="gatekeeper",
                       max_request_body_size=512 * 1024 * 1024)
    finally:
        if stop_notify is not None:
            stop_notify()


def _protection(flask_app: Any) -> list[str]:
    """What each repo protects right now; the bare repos are found through their ``hooks.attested`` entry."""
    from pathlib import Path

    from gatekeeper.audit.reconcile import attested_repos
    from gatekeeper.cli.policy import protection_lines

    svc = flask_app.extensions["gatekeeper"]
    with svc.store.read() as session:
        attested = attested_repos(session)
    lines = []
    for repo in svc.config.repos:
        found = attested.get(repo.name)
        lines.extend(protection_lines(repo, Path(found[1].path) if found and found[1].path else None))
    return lines
