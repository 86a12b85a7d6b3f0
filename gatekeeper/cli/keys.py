"""``gatekeeper keys``: the Ed25519 key that signs log checkpoints (SPEC §10)."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError


@click.group()
def keys() -> None:
    """Manage the checkpoint signing key."""


@keys.command("generate")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Private key file (default: service.signing_key). The public key goes to <name>.pub.pem.")
@sub_config_option
@pass_app
def generate(app: AppContext, output: Path | None) -> int:
    """Create the signing key: PKCS#8 PEM, mode 0600, and its public key beside it."""
    from gatekeeper.checkpoints.keys import generate_key, public_key_path
    from gatekeeper.ledger.checkpoint import key_id

    path = output or Path(app.config.service.signing_key)
    if path.exists():
        raise InputError(f"{path} exists; refusing to replace a signing key (checkpoints it signed "
                         "verify only with its public key)")
    try:
        key = generate_key(path)
    except FileExistsError as exc:
        raise InputError(f"{path} exists; refusing to replace a signing key") from exc
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    click.echo(f"key_id {key_id(key.public_key())}")
    click.echo(f"gatekeeper: private key {path} (mode 0600), public key {public_key_path(path)}", err=True)
    return 0
