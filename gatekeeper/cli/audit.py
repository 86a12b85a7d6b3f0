"""``gatekeeper audit export``: the change register and the evidence pack for a period."""

from __future__ import annotations

from pathlib import Path

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError


@click.group()
def audit() -> None:
    """Auditor's exports."""


def _services(app: AppContext):  # type: ignore[no-untyped-def]
    from gatekeeper.actions.context import Services

    return Services(config=app.config, store=app.store, directory=app.directory)


@audit.command("export")
@click.option("--from", "from_", required=True, help="YYYY-MM-DD (whole UTC day) or RFC 3339.")
@click.option("--to", "to", required=True, help="YYYY-MM-DD (inclusive) or RFC 3339.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json", "zip"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@sub_config_option
@pass_app
def export(app: AppContext, from_: str, to: str, fmt: str, output: Path) -> None:
    """Write the change register (csv, xlsx, json) or the evidence pack (zip)."""
    from gatekeeper.audit import register, writers
    from gatekeeper.period import parse_period

    start, end = parse_period(from_, to)
    svc = _services(app)
    tmp = output.with_name(output.name + ".partial")
    try:
        if fmt in ("csv", "json"):
            with tmp.open("w", encoding="utf-8", newline="") as out:
                write = writers.write_csv if fmt == "csv" else writers.write_json
                n = write(out, register.COLUMNS, register.rows(svc, start, end))
        elif fmt == "xlsx":
            from gatekeeper.audit.xlsx import write_xlsx

            with tmp.open("wb") as bout:
                n = write_xlsx(bout, register.COLUMNS, register.rows(svc, start, end))
        else:
            from gatekeeper.audit.evidence import build_pack

            with tmp.open("wb") as bout:
                n = build_pack(svc, start, end, bout)
        tmp.replace(output)
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"wrote {output} ({n} change requests, {start} .. {end})", err=True)
