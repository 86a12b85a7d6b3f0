"""``gatekeeper witness``: an independent service that cosigns the log's checkpoints (SPEC §12).

Meant to run under someone else's control (internal audit, a second site): its own key, its own
SQLite file, no access to the log's database. It cosigns a checkpoint only if a log key it was told
to trust (``gatekeeper witness trust``, or ``serve --log``: the ``note_key`` ``gatekeeper keys show``
prints) signed it and it extends every checkpoint the witness cosigned before. Its name and the logs
it trusts are kept in its SQLite file, so ``serve --db FILE --key FILE [--listen HOST:PORT]`` is all
a restart needs.
"""

from __future__ import annotations

import socket
import sqlite3
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
    from gatekeeper.checkpoints.keys import generate_key, load_private_key

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


def _state(db_file: Path) -> Any:
    from gatekeeper.witness.state import WitnessState

    try:
        return WitnessState(db_file)
    except (OSError, sqlite3.Error) as exc:
        raise InputError(f"cannot open the witness database {db_file}: {exc}") from exc


def _name(state: Any, given: str | None) -> str:
    try:
        return str(state.name(given, _default_name()))
    except ValueError as exc:
        raise InputError(f"--name: {exc}") from exc


@witness.command("key")
@click.option("--key", "key_file", type=_FILE, required=True, help="The witness's Ed25519 key (created if missing).")
@click.option("--db", "db_file", type=_FILE, default=None, help="The witness's SQLite file (its name is kept there).")
@click.option("--name", default=None, help="The witness's name (default: the one in --db, else "
                                           "gatekeeper-witness/<host>).")
def key_cmd(key_file: Path, db_file: Path | None, name: str | None) -> int:
    """Print the witness's note verifier key: the `key` of its [[ledger.witnesses]] and of `witness` trust lines."""
    if db_file is not None:
        name = _name(_state(db_file), name)
    click.echo(_verifier(name or _default_name(), _key(key_file)).vkey())
    return 0


@witness.command("trust")
@click.option("--db", "db_file", type=_FILE, required=True, help="The witness's own SQLite file.")
@click.argument("note_key")
def trust(db_file: Path, note_key: str) -> int:
    """Cosign the checkpoints of the log with NOTE_KEY from now on (`gatekeeper keys show` prints it as note_key)."""
    try:
        v = _state(db_file).trust(note_key)
    except ValueError as exc:
        raise InputError(f"{note_key!r}: {exc}") from exc
    click.echo(f"gatekeeper: witness trusts log {v.name} (key {v.key_hash.hex()})", err=True)
    return 0


@witness.command("serve")
@click.option("--db", "db_file", type=_FILE, required=True, help="The witness's own SQLite file.")
@click.option("--key", "key_file", type=_FILE, required=True, help="The witness's Ed25519 key (created if missing).")
@click.option("--listen", default="127.0.0.1:8450", show_default=True, metavar="HOST:PORT")
@click.option("--name", default=None, help="The witness's name, kept in --db from its first run (default "
                                           "gatekeeper-witness/<host>).")
@click.option("--log", "logs", multiple=True, metavar="NOTE_KEY",
              help="Also trust this log (as `gatekeeper witness trust`); repeatable.")
def serve(db_file: Path, key_file: Path, listen: str, name: str | None, logs: tuple[str, ...]) -> int:
    """Serve POST /add-checkpoint (C2SP tlog-witness) until stopped."""
    from gatekeeper.witness.server import Witness, make_server

    host, _, port = listen.rpartition(":")
    if not host or not port.isdecimal() or not 0 <= int(port) < 65536:
        raise InputError(f"--listen {listen!r}: give HOST:PORT")
    state = _state(db_file)
    for text in logs:
        try:
            state.trust(text)
        except ValueError as exc:
            raise InputError(f"--log {text!r}: {exc}") from exc
    key = _key(key_file)
    w = Witness(name=_name(state, name), key=key, state=state)
    verifier = _verifier(w.name, key)
    try:
        server = make_server(w, host.strip("[]"), int(port))
    except OSError as exc:
        raise InputError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    trusted = sorted(state.logs())
    click.echo(f"witness {w.name} {verifier.vkey()}", err=True)
    click.echo(f"gatekeeper: witness listening on http://{listen} for "
               + (", ".join(trusted) if trusted else "no log yet (add one: gatekeeper witness trust --db FILE "
                                                    "NOTE_KEY)"), err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
