"""The demo's mail sink (``gatekeeper demo``): a local SMTP server that writes each message it gets to
``<demo>/outbox/NNN-<recipient>.eml`` and prints one line, so the outbox is visible with no setup.
Plain SMTP on 127.0.0.1 without TLS or AUTH (``security = "none"``): a demo, never a mail relay."""

from __future__ import annotations

import email
import email.policy
import itertools
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Writer:
    def __init__(self, folder: Path) -> None:
        self.folder, self.counter = folder, itertools.count(1)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for rcpt in envelope.rcpt_tos:
            name = re.sub(r"[^A-Za-z0-9@._-]", "_", rcpt)
            path = self.folder / f"{next(self.counter):03d}-{name}.eml"
            path.write_bytes(envelope.content)
            click.echo(f"    mail to {rcpt}: {msg['Subject']}  ({path.name})")
        return "250 OK"


def start(root: Path, config_path: Path) -> Callable[[], None]:
    """Start the sink and point the demo policy's ``[notify.smtp]`` at it; returns a stop function."""
    from aiosmtpd.controller import Controller

    folder = root / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    controller = Controller(_Writer(folder), hostname="127.0.0.1", port=port)
    controller.start()
    with config_path.open("a", encoding="utf-8") as f:
        f.write("\n# added by `gatekeeper demo`: mail goes to a local sink that writes demo-data/outbox/*.eml\n"
                f'[notify]\ninterval_seconds = 2\n\n[notify.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
                'security = "none"\nfrom = "gatekeeper@plant.example"\n')
    return controller.stop  # type: ignore[no-any-return]
