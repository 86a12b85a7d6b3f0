"""``gatekeeper log``: verify, checkpoint, export and anchor the change log (SPEC §5, §8, §10).

``log verify`` exits 0 when intact, 1 when tampered (``gatekeeper: log verify: FAILED at seq N:
<reason>``) and 2 when its input is unusable. With ``--export`` it needs no config and no
database: an auditor verifies on their own machine with the export and the public key.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError, LedgerBroken

_PATH = click.Path(dir_okay=False, path_type=Path)


@click.group()
def log() -> None:
    """Verify, checkpoint, export and anchor the change log."""


@log.command("verify")
@click.option("--checkpoint", "checkpoint_files", multiple=True, type=_PATH, metavar="FILE",
              help="Signed checkpoint(s) to check the log against (one JSON object or JSONL); repeatable.")
@click.option("--git-anchor", type=click.Path(file_okay=False, path_type=Path), metavar="REPO",
              help="Also check every checkpoint anchored at refs/gatekeeper/checkpoints in REPO.")
@click.option("--export", "export_file", type=_PATH, metavar="FILE.jsonl",
              help="Verify this export instead of the database (no config needed).")
@click.option("--public-key", type=_PATH, metavar="PEM",
              help="Ed25519 public key (default for the database: the one beside service.signing_key).")
@click.option("--database", metavar="URL_OR_FILE",
              help="Verify this database (a backup: a SQLite file or a restored copy's URL) instead of "
                   "service.database; a signed checkpoint beyond its end is a warning, not a failure.")
@sub_config_option
@pass_app
def verify(app: AppContext, checkpoint_files: tuple[Path, ...], git_anchor: Path | None,
           export_file: Path | None, public_key: Path | None, database: str | None) -> int:
    """Check the whole chain and the signed checkpoints; exit 0 intact, 1 tampered, 2 unusable input."""
    from gatekeeper.checkpoints import anchor, keys
    from gatekeeper.ledger.verify import verify_lines, verify_rows

    checkpoints = [cp for f in checkpoint_files for cp in anchor.read_checkpoint_file(f)]
    if git_anchor is not None:
        checkpoints += anchor.read_git_anchors(git_anchor)
    key = keys.load_public_key(public_key) if public_key else None
    try:
        if export_file is not None:
            with _open_export(export_file) as fh, _progress(os.fstat(fh.fileno()).st_size) as tick:
                by_bytes = None if tick is None else (lambda _n: tick(fh.tell()))
                summary = verify_lines(fh, checkpoints, key, progress=by_bytes)
        else:
            from gatekeeper.store import log as ledger_log

            key = key or _configured_public_key(app)
            with _reading(app, database) as session:
                last = ledger_log.head(session)
                if database:
                    checkpoints = _older_backup(last.seq if last else 0, checkpoints)
                with _progress(last.seq if last else 0) as tick:
                    summary = verify_rows(ledger_log.rows(session), checkpoints, key, progress=tick)
    except LedgerBroken as exc:
        click.echo(f"gatekeeper: log verify: {exc.message}", err=True)
        return 1
    click.echo(summary.describe())
    return 0


@log.command("checkpoint")
@click.option("-o", "--output", type=_PATH, metavar="FILE", help="Write it here (default: stdout).")
@sub_config_option
@pass_app
def checkpoint(app: AppContext, output: Path | None) -> int:
    """Sign a checkpoint of the current head with service.signing_key and log it."""
    from gatekeeper.checkpoints.sign import make_checkpoint
    from gatekeeper.witness.client import cosign

    cp = make_checkpoint(app.store, _private_key(app), app.config.service.origin)
    cp, refusals = cosign(app.config, app.store, cp)
    _write(output, cp.to_json())
    click.echo(f"gatekeeper: checkpoint of seq {cp.seq} signed with key {cp.key_id}"
               + (f", cosigned by {len(cp.cosignatures)} witness(es)" if cp.cosignatures else "")
               + (f", written to {output}" if output else ""), err=True)
    for r in refusals:
        click.echo(f"gatekeeper: warning: witness {r}", err=True)
    return 0


@log.command("prove")
@click.option("--seq", type=click.IntRange(min=1), required=True, help="The entry to prove.")
@click.option("--size", type=click.IntRange(min=1), default=None,
              help="The tree size to prove it in (default: the whole log).")
@sub_config_option
@pass_app
def prove(app: AppContext, seq: int, size: int | None) -> int:
    """Print the RFC 6962 inclusion proof of entry SEQ: {"tree_size", "leaf_index", "hashes"}."""
    import json

    from gatekeeper.store import tree

    with _reading(app) as session:
        n, proof = tree.inclusion_proof(session.connection(), seq, size)
    click.echo(json.dumps({"tree_size": n, "leaf_index": seq - 1, "hashes": [h.hex() for h in proof]}))
    return 0


@log.command("consistency")
@click.option("--from", "old", type=click.IntRange(min=0), required=True, metavar="SIZE",
              help="The smaller tree size (a checkpoint you kept).")
@click.option("--to", "new", type=click.IntRange(min=0), default=None, metavar="SIZE",
              help="The larger tree size (default: the whole log).")
@sub_config_option
@pass_app
def consistency(app: AppContext, old: int, new: int | None) -> int:
    """Print the RFC 6962 consistency proof from SIZE: {"tree_size", "leaf_index", "hashes", "old_size"}
    (``leaf_index``: the old tree's last leaf, which the proof shows unchanged; null from size 0)."""
    import json

    from gatekeeper.store import tree

    with _reading(app) as session:
        n, proof = tree.consistency_proof(session.connection(), old, new)
    click.echo(json.dumps({"tree_size": n, "leaf_index": old - 1 if old else None,
                           "hashes": [h.hex() for h in proof], "old_size": old}))
    return 0


@log.command("export")
@click.option("--from", "from_", metavar="D", help="First day (YYYY-MM-DD, UTC) or RFC 3339 instant.")
@click.option("--to", metavar="D", help="Last day, inclusive (YYYY-MM-DD, UTC) or RFC 3339 instant.")
@click.option("-o", "--output", type=_PATH, required=True, metavar="FILE.jsonl")
@click.option("--checkpoint-out", type=_PATH, metavar="FILE",
              help="First sign a checkpoint of the head, export up to it and write it to FILE.")
@sub_config_option
@pass_app
def export(app: AppContext, from_: str | None, to: str | None, output: Path,
           checkpoint_out: Path | None) -> int:
    """Write entries with their hashes as JSONL, streaming (a full export verifies with --export)."""
    from gatekeeper.checkpoints.sign import make_checkpoint
    from gatekeeper.period import parse_period
    from gatekeeper.store import log as ledger_log

    start, end = parse_period(from_, to) if (from_ or to) else (None, None)
    cp = (make_checkpoint(app.store, _private_key(app), app.config.service.origin)
          if checkpoint_out is not None else None)
    with _reading(app) as session:
        last = ledger_log.head(session)
        upto = cp.seq if cp else (last.seq if last else 0)  # a snapshot, however busy the service is
        with _atomic(output) as fh:
            result = ledger_log.export_jsonl(session, fh, start=start, end=end, upto=upto)
    if cp is not None and checkpoint_out is not None:
        _write(checkpoint_out, cp.to_json())
    span = f"seq {result.first_seq}..{result.last_seq}" if result.count else "nothing in range"
    click.echo(f"gatekeeper: exported {result.count} entries ({span}) to {output}", err=True)
    return 0


@log.command("anchor")
@click.option("--git", "git_repo", type=click.Path(file_okay=False, path_type=Path), metavar="REPO",
              help="Commit the checkpoint to refs/gatekeeper/checkpoints in this repository.")
@click.option("--file", "anchor_path", type=_PATH, metavar="FILE",
              help="Append the checkpoint to this JSONL file (kept by an auditor).")
@click.option("--checkpoint", "checkpoint_file", type=_PATH, metavar="FILE",
              help="Anchor this checkpoint file instead of the latest one in the log.")
@sub_config_option
@pass_app
def anchor_cmd(app: AppContext, git_repo: Path | None, anchor_path: Path | None,
               checkpoint_file: Path | None) -> int:
    """Copy the latest checkpoint where the database administrator cannot rewrite it."""
    from gatekeeper.checkpoints import anchor
    from gatekeeper.checkpoints.sign import latest_checkpoint

    if git_repo is None and anchor_path is None:
        raise InputError("log anchor: give --git REPO and/or --file FILE")
    if checkpoint_file is not None:
        cps = anchor.read_checkpoint_file(checkpoint_file)
        cp = max(cps, key=lambda c: c.seq)
    else:
        with _reading(app) as session:
            latest = latest_checkpoint(session)
        if latest is None:
            raise InputError("no checkpoint in the log yet: run `gatekeeper log checkpoint` first")
        cp = latest
    try:
        if git_repo is not None:
            commit = anchor.anchor_git(git_repo, cp)
            state = f"commit {commit[:12]}" if commit else "already there"
            click.echo(f"gatekeeper: checkpoint of seq {cp.seq} anchored at {anchor.ANCHOR_REF} "
                       f"in {git_repo} ({state})", err=True)
        if anchor_path is not None:
            added = anchor.anchor_file(anchor_path, cp)
            click.echo(f"gatekeeper: checkpoint of seq {cp.seq} {'appended to' if added else 'already in'} "
                       f"{anchor_path}", err=True)
    except LedgerBroken as exc:
        click.echo(f"gatekeeper: log anchor: {exc.message}", err=True)
        return 1
    return 0



def _older_backup(end: int, checkpoints: list[Any]) -> list[Any]:
    """A backup may legitimately end before checkpoints signed after it was taken: warn (with what is
    missing) and verify it against the checkpoints it covers. On the live database that is truncation."""
    later = [cp for cp in checkpoints if cp.seq > end]
    if later:
        last = max(cp.seq for cp in later)
        click.echo(f"gatekeeper: log verify: warning: this backup ends at seq {end}, before the last signed "
                   f"checkpoint known elsewhere (seq {last}): entries {end + 1}..{last} are not in it. Restoring it "
                   "would lose them; use a newer backup.", err=True)
    return [cp for cp in checkpoints if cp.seq <= end]


@contextlib.contextmanager
def _reading(app: AppContext, database: str | None = None) -> Iterator[Any]:
    """A read session on ``service.database`` (or ``database``: a URL or a SQLite file) that never
    migrates; a log it cannot read is unusable input."""
    from sqlalchemy.exc import SQLAlchemyError

    from gatekeeper.store.db import Store

    if not database:
        from gatekeeper.cli.context import require_database

        require_database(app.config)  # an absent SQLite file is one clear error, and stays absent
    url = database or app.config.service.database
    if database and "://" not in database:
        if not Path(database).is_file():
            raise InputError(f"{database}: no such database file")
        url = f"sqlite:///{Path(database).resolve()}"
    store = Store(url, create=False)
    try:
        with store.read() as session:
            yield session
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise InputError(f"cannot read the change log in {url}: "
                         f"{first[0] if first else type(exc).__name__}") from exc
    finally:
        store.dispose()


def _configured_public_key(app: AppContext) -> Any:
    """The public half of ``service.signing_key`` (its ``.pub.pem``, else the key itself), if there is one."""
    from gatekeeper.checkpoints import keys

    return keys.configured_public_key(Path(app.config.service.signing_key))


def _private_key(app: AppContext) -> Any:
    from gatekeeper.checkpoints import keys

    return keys.require_private_key(Path(app.config.service.signing_key))


@contextlib.contextmanager
def _open_export(path: Path) -> Iterator[IO[bytes]]:
    try:
        fh = open(path, "rb")  # noqa: SIM115  (closed below; a context manager around the whole check)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with fh:
        yield fh


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for big logs, only when stderr is a terminal; yields its update function."""
    if not sys.stderr.isatty() or total <= 0:
        yield None
        return
    with click.progressbar(length=total, label="verifying", file=sys.stderr) as bar:
        def tick(done: int) -> None:
            bar.update(max(0, min(done, total) - bar.pos))

        yield tick


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside ``path`` and rename it into place only when complete."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _write(path: Path | None, data: bytes) -> None:
    if path is None:
        out = getattr(sys.stdout, "buffer", None)
        if out is None:  # a text-only stream (some test runners)
            sys.stdout.write(data.decode("utf-8"))
        else:
            out.write(data)
        sys.stdout.flush()
        return
    with _atomic(path) as fh:
        fh.write(data)
