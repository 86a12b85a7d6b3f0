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


@keys.command("show")
@sub_config_option
@pass_app
def show(app: AppContext) -> int:
    """Print the organisation's current key id (record it at the first engagement), the log's origin and its
    note verifier key (what a witness is told to trust)."""
    from gatekeeper.checkpoints.keys import configured_public_key
    from gatekeeper.ledger.checkpoint import key_id, note_verifier

    private = Path(app.config.service.signing_key)
    key = configured_public_key(private)
    if key is None:
        raise InputError(f"no signing key at {private}: create it with `gatekeeper keys generate`")
    click.echo(f"key_id {key_id(key)}")
    click.echo(f"origin {app.config.service.origin}")
    click.echo(f"note_key {note_verifier(key, app.config.service.origin).vkey()}")
    return 0


@keys.command("rotate")
@sub_config_option
@pass_app
def rotate(app: AppContext) -> int:
    """Replace the signing key: the old key signs a key.rotated entry naming the new one (SPEC §12), so a
    verifier pinned to the old key id follows the chain. The old key file is kept as <name>.<key id>.pem."""
    from gatekeeper.checkpoints.rotation import rotate_key

    old, new, seq = rotate_key(app.config, app.store)
    click.echo(f"key_id {new}")
    click.echo(f"gatekeeper: key {old} rotated to {new} (key.rotated at log seq {seq}); restart the service and "
               "give the witnesses the new note key (gatekeeper keys show)", err=True)
    return 0
