"""``gatekeeper witness``: an independent service that cosigns the log's checkpoints (SPEC §12).

Meant to run under someone else's control (internal audit, a second site): its own key, its own
SQLite file, no access to the log's database. It cosigns a checkpoint only if a log key it was told
to trust (``--log``, the ``note_key`` ``gatekeeper keys show`` prints) signed it and it extends
every checkpoint the witness cosigned before.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import click

from gatekeeper.errors import InputError

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def witness() -> None:
    """Run a witness that cosigns a Gatekeeper log's checkpoints (C2SP tlog-witness)."""


def _default_name() -> str:
    return f"gatekeeper-witness/{socket.gethostname().split('.')[0] or 'localhost'}"


def _key(path: Path) -> Any:
    from gatekeeper.store.signing import generate_key, load_private_key

    if path.exists():
        return load_private_key(path)
    try:
        return generate_key(path)
    except FileExistsError:
        return load_private_key(path)
    except OSError as exc:
        raise InputError(f"cannot write the witness key {path}: {exc.strerror or exc}") from exc


def _verifier(name: str, key: Any) -> Any:
    from gatekeeper.ledger.checkpoint import raw_public_key
    from gatekeeper.ledger.note import SIG_COSIGNATURE, NoteVerifier, check_key_name

    try:
        check_key_name(name)
    except ValueError as exc:
        raise InputError(f"--name: {exc}") from exc
    return NoteVerifier(name, SIG_COSIGNATURE, raw_public_key(key.public_key()))


@witness.command("key")
@click.option("--key", "key_file", type=_FILE, required=True, help="The witness's Ed25519 key (created if missing).")
@click.option("--name", default=None, help="The witness's name (default gatekeeper-witness/<host>).")
def key_cmd(key_file: Path, name: str | None) -> int:
    """Print the witness's note verifier key: the `key` of its [[ledger.witnesses]] and of `witness` trust lines."""
    click.echo(_verifier(name or _default_name(), _key(key_file)).vkey())
    return 0


@witness.command("serve")
@click.option("--db", "db_file", type=_FILE, required=True, help="The witness's own SQLite file.")
@click.option("--key", "key_file", type=_FILE, required=True, help="The witness's Ed25519 key (created if missing).")
@click.option("--listen", default="127.0.0.1:8450", show_default=True, metavar="HOST:PORT")
@click.option("--name", default=None, help="The witness's name (default gatekeeper-witness/<host>).")
@click.option("--log", "logs", multiple=True, required=True, metavar="VKEY",
              help="A log this witness cosigns: its note key (`gatekeeper keys show` prints note_key); repeatable.")
def serve(db_file: Path, key_file: Path, listen: str, name: str | None, logs: tuple[str, ...]) -> int:
    """Serve POST /add-checkpoint (C2SP tlog-witness) until stopped."""
    from gatekeeper.ledger.note import SIG_ED25519, parse_vkey
    from gatekeeper.witness.server import Witness, make_server
    from gatekeeper.witness.state import WitnessState

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise InputError(f"--listen {listen!r}: give HOST:PORT")
    trusted: dict[str, list[Any]] = {}
    for text in logs:
        try:
            v = parse_vkey(text)
        except ValueError as exc:
            raise InputError(f"--log {text!r}: {exc}") from exc
        if v.sig_type != SIG_ED25519:
            raise InputError(f"--log {text!r}: a log's note key has type 0x01 (gatekeeper keys show: note_key)")
        trusted.setdefault(v.name, []).append(v)
    key = _key(key_file)
    w = Witness(name=name or _default_name(), key=key, logs=trusted, state=WitnessState(db_file))
    verifier = _verifier(w.name, key)
    try:
        server = make_server(w, host.strip("[]"), int(port))
    except OSError as exc:
        raise InputError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    click.echo(f"witness {w.name} {verifier.vkey()}", err=True)
    click.echo(f"gatekeeper: witness listening on http://{listen} for {', '.join(sorted(trusted))}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
