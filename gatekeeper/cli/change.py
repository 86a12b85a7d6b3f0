"""``gatekeeper change list|show``: read CRs from the service."""

from __future__ import annotations

import json

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option

user_option = click.option("--user", help="Directory username (default: $GATEKEEPER_USER).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")


@click.group()
def change() -> None:
    """Change requests."""


@change.command("list")
@click.option("--state", help="pending, approved, rejected, withdrawn, deployed, emergency, retro-approved")
@click.option("--repo")
@user_option
@json_option
@sub_config_option
@pass_app
def list_(app: AppContext, state: str | None, repo: str | None, user: str | None, as_json: bool) -> None:
    """List change requests."""
    from gatekeeper.client import from_env

    body = from_env(app.config.service.url, user).get("/api/v1/changes", state=state, repo=repo, limit=1000)
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    for c in body["changes"]:
        flag = " OVERDUE" if c.get("overdue") else ""
        click.echo(f"{c['id']:>6}  {c['state']:<14} {c['repo']}:{c['target']:<12} {c['requested_by']:<10} "
                   f"{c['title']}{flag}")


@change.command("show")
@click.argument("change_id", type=int)
@user_option
@json_option
@sub_config_option
@pass_app
def show(app: AppContext, change_id: int, user: str | None, as_json: bool) -> None:
    """Show one change request: files, semantic diff, approvals, SoD findings."""
    from gatekeeper.client import from_env

    c = from_env(app.config.service.url, user).get(f"/api/v1/changes/{change_id}")
    if as_json:
        click.echo(json.dumps(c, indent=2))
        return
    click.echo(f"change request {c['id']}: {c['title']}  [{c['state']}]")
    click.echo(f"  {c['repo']} {c['topic_ref']} -> {c['target']}, revision {c['revision']}, "
               f"fingerprint {c['fingerprint']}")
    click.echo(f"  requested by {c['requested_by']} at {c['requested_at']}; {c['url']}")
    for f in c["files"]:
        click.echo(f"  {f['status']:<9} {f['path']}  ({', '.join(f['categories'])})")
    for d in c["semantic_diff"]:
        for ch in d["changes"]:
            click.echo(f"    {d['path']}: {ch['text']}")
    for f in c["findings"]:
        click.echo(f"  {f['severity']}: {f['path']} {f['location']}: {f['message']}")
    for a in c["approvals"]:
        click.echo(f"  {a['decision']}d by {a['username']} ({a['group']}, {a['meaning']}, {a['signed_at']})")
    for m in c["approvals_missing"]:
        click.echo(f"  needs {m['count']} more by {m['group']}")
    for s in c["sod_findings"]:
        click.echo(f"  SoD: {s['message']} ({s['code']})")
