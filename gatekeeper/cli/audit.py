"""``gatekeeper audit``: the auditor's commands (SPEC §5, §9, §10).

``export`` writes the change register (csv, xlsx, json) or the evidence pack (zip); ``reconcile``
matches a branch's history to recorded deployments (exit 1 on any gap); ``verify-pack`` checks a
pack offline (exit 0 / 1 tampered / 2 unusable); ``sample`` draws a reproducible sample of changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import InputError

_FROM = click.option("--from", "from_", required=True, metavar="D",
                     help="YYYY-MM-DD (whole UTC day) or RFC 3339.")
_TO = click.option("--to", "to", required=True, metavar="D", help="YYYY-MM-DD (inclusive) or RFC 3339.")


@click.group()
def audit() -> None:
    """Auditor's exports, reconciliation, pack verification and sampling."""


def _services(app: AppContext) -> Any:
    from gatekeeper.actions.context import Services

    return Services(config=app.config, store=app.store, directory=app.directory)


@audit.command("export")
@_FROM
@_TO
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json", "zip"]), default="csv",
              show_default=True, help="Register as csv/xlsx/json, or zip for the evidence pack.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@sub_config_option
@pass_app
def export(app: AppContext, from_: str, to: str, fmt: str, output: Path) -> int:
    """Write the change register (csv, xlsx, json) or the evidence pack (zip)."""
    from gatekeeper.audit.export import write_export
    from gatekeeper.period import parse_period

    start, end = parse_period(from_, to)
    svc = _services(app)
    tmp = output.with_name(f".{output.name}.partial")
    try:
        with tmp.open("wb") as out:
            n = write_export(svc, start, end, fmt, out)
        tmp.replace(output)
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    what = "evidence pack" if fmt == "zip" else "change register"
    click.echo(f"gatekeeper: wrote {what} {output} ({n} change requests, {start} .. {end})", err=True)
    return 0


@audit.command("reconcile")
@click.option("--repo", "location", required=True, metavar="PATH_OR_URL",
              help="The bare repository (a local path also checks hook drift) or a URL to clone.")
@click.option("--branch", required=True, help="The protected branch, e.g. main.")
@_FROM
@_TO
@click.option("--name", default=None, help="The repo's name in the policy (default: from the bare repo).")
@click.option("-v", "--verbose", is_flag=True, help="Also list every matched commit.")
@sub_config_option
@pass_app
def reconcile_cmd(app: AppContext, location: str, branch: str, from_: str, to: str, name: str | None,
                  verbose: bool) -> int:
    """Match every commit that reached BRANCH in the period to a recorded deployment; exit 1 on any gap."""
    from gatekeeper.audit import reconcile
    from gatekeeper.period import parse_period

    start, end = parse_period(from_, to)
    with reconcile.open_repo(location) as (gitrepo, local):
        repo_name = reconcile.repo_name(gitrepo, name, [r.name for r in app.config.repos])
        if app.config.repo(repo_name) is None:
            raise InputError(f"repo {repo_name!r} is not in the policy file {app.config.path} (repos: "
                             f"{', '.join(r.name for r in app.config.repos)}; choose one with --name)")
        from gatekeeper.actions.context import Services

        settled = reconcile.settle_intents(Services(app.config, app.store, app.directory), gitrepo, local,
                                           repo_name)
        with app.store.read() as session:
            result = reconcile.reconcile(session, gitrepo, local, repo_name, branch, start, end)
    from gatekeeper.policy.categories import is_protected

    patterns = app.config.repo(repo_name).protected  # type: ignore[union-attr]
    if not is_protected(branch, patterns):
        result.notes.append(f"{branch} is not a protected branch of {repo_name} under the current policy "
                            f"(protected: {', '.join(patterns)}): the gate does not check pushes to it")
    for line in [*result.lines(verbose), *(f"SETTLED {line}" for line in settled)]:
        click.echo(line)
    return 0 if result.ok else 1


@audit.command("verify-pack", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def verify_pack_cmd(args: tuple[str, ...]) -> int:
    """Check an evidence pack (a zip or its unpacked folder) exactly as its verify.py does.

    Takes verify.py's options: [--key-id ID | --trust FILE] [--since CHECKPOINT_FILE] PACK. Exit 0 when
    every check passes and the origin is pinned, 1 naming the first failure, 3 when every check passes
    but no origin was pinned.
    """
    from gatekeeper.audit.verify_pack import verify_pack

    return verify_pack(list(args))


@audit.command("verifier")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, metavar="FILE")
def verifier_cmd(output: Path) -> int:
    """Write the standalone verifier (verify.py: one standard-library file) and print its SHA-256."""
    from gatekeeper.verifier import bundle

    data = bundle.build()
    try:
        output.write_bytes(data)
        output.chmod(0o755)
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"{bundle.sha256()}  {output}")
    return 0


@audit.command("sample")
@_FROM
@_TO
@click.option("--size", type=click.IntRange(min=1), default=25, show_default=True)
@click.option("--seed", default=None,
              help="Any text; record it to re-draw the same sample (default: a random one, printed).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write here (default: stdout).")
@sub_config_option
@pass_app
def sample_cmd(app: AppContext, from_: str, to: str, size: int, seed: str | None, fmt: str,
               output: Path | None) -> int:
    """Pick a reproducible random sample of changes and write each one's trail, request to deployment."""
    import secrets

    from gatekeeper.audit import sample
    from gatekeeper.period import parse_period

    start, end = parse_period(from_, to)
    seed = seed if seed is not None else secrets.token_hex(4)
    result = sample.sample(_services(app), start, end, size, seed)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        if fmt == "json":
            json.dump(result, out, ensure_ascii=False, indent=2)
            out.write("\n")
        else:
            sample.write_text(out, result)
    finally:
        if output:
            out.close()
    click.echo(f"gatekeeper: sampled {len(result['change_ids'])} of {result['population']} change requests "
               f"with seed {seed}", err=True)
    return 0
