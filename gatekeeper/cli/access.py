"""``gatekeeper access``: who may change and approve what (SPEC §12 "Access review").

``review`` writes today's rights per person (csv, json, xlsx) with the conflict summary on stderr
(it heads the json and xlsx files); ``changes`` lists the rights gained and lost in a period from
the log's daily snapshots; ``snapshot`` takes today's snapshot now (the service does it daily; a
second run the same day writes nothing). Campaigns are run and signed on the ``/access`` page.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError


@click.group()
def access() -> None:
    """Access review: rights per person, conflicting combinations, joiners and leavers."""


def _services(app: AppContext) -> Any:
    from gatekeeper.actions.context import Services

    return Services(config=app.config, store=app.store, directory=app.directory)


def _write(output: Path | None, write: Any) -> int:
    """Write to ``output`` atomically (a partial file never stays behind), or to stdout."""
    if output is None:
        return int(write(sys.stdout.buffer))
    tmp = output.with_name(f".{output.name}.partial")
    try:
        with tmp.open("wb") as out:
            n = int(write(out))
        tmp.replace(output)
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return n


@access.command("review")
@click.option("--repo", metavar="R", help="Only this repo's rights (and the service-wide ones).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File to write (default: stdout; xlsx needs a file).")
@sub_config_option
@pass_app
def review_cmd(app: AppContext, repo: str | None, fmt: str, output: Path | None) -> int:
    """Every right per person now: username, name, right, repo, category, group, via, conflicts,
    last_activity, dormant."""
    from gatekeeper.actions.access import check_repo, review
    from gatekeeper.audit.access import summary_lines, write_review

    check_repo(app.config, repo)  # a bad name fails before the directory is asked
    if fmt == "xlsx" and output is None:
        raise InputError("--format xlsx needs -o FILE (a workbook is not written to a terminal)")
    found = review(_services(app), repo)
    n = _write(output, lambda out: write_review(found, fmt, out))
    for name, value in summary_lines(found):
        click.echo(f"gatekeeper: {name}: {value}", err=True)
    if output is not None:
        click.echo(f"gatekeeper: wrote access review {output} ({n} rows)", err=True)
    return 0


@access.command("changes")
@click.option("--from", "from_", required=True, metavar="D", help="YYYY-MM-DD (whole UTC day) or RFC 3339.")
@click.option("--to", "to", required=True, metavar="D", help="YYYY-MM-DD (inclusive) or RFC 3339.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None)
@sub_config_option
@pass_app
def changes_cmd(app: AppContext, from_: str, to: str, fmt: str, output: Path | None) -> int:
    """Rights gained and lost in the period, each with the log seq of the snapshot that first showed it."""
    from gatekeeper.actions.access import CHANGE_COLUMNS, change_rows
    from gatekeeper.period import parse_period

    start, end = parse_period(from_, to)
    with app.store.read() as session:
        rows = change_rows(session, start, end)

    def write(out: IO[bytes]) -> int:
        import io

        from gatekeeper.audit.writers import write_csv, write_json

        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        try:
            return (write_csv if fmt == "csv" else write_json)(text, CHANGE_COLUMNS, rows)
        finally:
            text.flush()
            text.detach()

    n = _write(output, write)
    click.echo(f"gatekeeper: {n} change(s) of rights, {start} .. {end}", err=True)
    return 0


@access.command("snapshot")
@sub_config_option
@pass_app
def snapshot_cmd(app: AppContext) -> int:
    """Log today's access.snapshot now (once a UTC day; the service takes it daily on its own)."""
    from gatekeeper.actions.access import take_snapshot
    from gatekeeper.ledger.events import AccessSnapshot

    entry = take_snapshot(_services(app))
    if entry is None:
        click.echo("gatekeeper: today's access snapshot was already taken; nothing written", err=True)
        return 0
    p = AccessSnapshot.from_payload(entry.payload)
    click.echo(f"gatekeeper: access snapshot {p.day} at log seq {entry.seq}: {p.count} rights, "
               f"{len(p.gained)} gained, {len(p.lost)} lost, {len(p.changed)} changed, "
               f"{len(p.revocations_open)} revoked right(s) still held", err=True)
    return 0
