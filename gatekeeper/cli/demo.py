"""``gatekeeper demo``: a plant repo, users and service data on the embedded defaults, then serve.

Everything the demo does goes through the real paths: real bare repo and hooks, real ``git push``es,
signatures through the same use case as the API, SQLite and the file directory.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import click

from gatekeeper.cli.context import AppContext, pass_app
from gatekeeper.errors import GatekeeperError, InputError

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - the hash in config/directory.toml; a demo, never a real secret
MARKER = ".gatekeeper-demo"
REPO = "plant-a-ot"
DRIFT_CONFIG = """
# Added by `gatekeeper demo`: the Ignition gateway's tag export, dropped into a folder by the plant.
[drift]
interval_minutes = 0

[[drift.sources]]
name = "ignition-gateway"
repo = "plant-a-ot"
path = "tags/ignition/full-tag-export.json"
format = "ignition-tags"
file = "../plant-export/ignition"
"""


def _copy_resource(src: Any, dst: Path) -> None:
    """Copy a package resource tree (works from a wheel as well as from a checkout)."""
    if src.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
        for child in src.iterdir():
            _copy_resource(child, dst / child.name)
    else:
        dst.write_bytes(src.read_bytes())


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise GatekeeperError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout + proc.stderr


class Demo:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root.resolve(), port
        self.config_path = self.root / "config" / "gatekeeper.toml"
        self.work = self.root / "work"
        self.bare = self.root / "git" / f"{REPO}.git"

    def prepare(self) -> None:
        if self.root.exists() and any(self.root.iterdir()):
            if not (self.root / MARKER).exists():
                raise InputError(f"{self.root} exists and is not a Gatekeeper demo folder; choose another --dir")
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        (self.root / MARKER).write_text("built by `gatekeeper demo`; deleted and rebuilt on the next run\n")
        demo = resources.files("gatekeeper").joinpath("demo")
        _copy_resource(demo.joinpath("config"), self.root / "config")
        text = self.config_path.read_text()
        text = re.sub(r'url = "http://127\.0\.0\.1:\d+"', f'url = "http://127.0.0.1:{self.port}"', text, count=1)
        repo_path = f'name = "{REPO}"\npath = "../git/{REPO}.git"\n'  # drift checks read main from it
        self.config_path.write_text(text.replace(f'name = "{REPO}"\n', repo_path, 1) + DRIFT_CONFIG)
        env = {"GATEKEEPER_SECRET_KEY": secrets.token_urlsafe(32), "GATEKEEPER_HOOK_TOKEN": secrets.token_urlsafe(32),
               "GATEKEEPER_CONFIG": str(self.config_path)}
        os.environ.update(env)
        env_file = self.root / "env.sh"
        env_file.write_text("# source this file to push and use the CLI against the demo service\n" + "".join(
            f"export {k}={v}\n" for k, v in env.items()))
        env_file.chmod(0o600)

    def push_env(self, user: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update({"GATEKEEPER_USER": user, "GIT_AUTHOR_NAME": user.title(), "GIT_COMMITTER_NAME": user.title(),
                    "GIT_AUTHOR_EMAIL": f"{user}@plant.example", "GIT_COMMITTER_EMAIL": f"{user}@plant.example"})
        return env

    def push(self, user: str, *args: str) -> str:
        out = _git(self.work, "push", "origin", *args, env=self.push_env(user))
        lines = [ln.split("gatekeeper: ", 1)[1].rstrip() for ln in out.splitlines() if "gatekeeper: " in ln]
        for line in lines:
            click.echo(f"    {line}")
        return "\n".join(lines)

    def commit(self, user: str, message: str) -> None:
        _git(self.work, "add", "-A")
        _git(self.work, "commit", "-q", "-m", message, env=self.push_env(user))


def _sign(app: AppContext, change_id: int, username: str, meaning: str, comment: str) -> None:
    from gatekeeper.actions.context import Services
    from gatekeeper.actions.payloads import SignRequest
    from gatekeeper.actions.signing import sign

    services = Services(config=app.config, store=app.store, directory=app.directory)
    user = app.directory.authenticate(username, DEMO_PASSWORD)
    sign(services, change_id, user, SignRequest(decision="approve", meaning=meaning, comment=comment))
    click.echo(f"    {username} signed change request {change_id}: {meaning}")


def _drift(app: AppContext, d: Demo) -> None:
    """The plant's exporter drops the gateway's tags, one tag edited and the file re-formatted."""
    import json

    from gatekeeper.actions.context import Services
    from gatekeeper.drift.check import run_checks

    doc = json.loads((d.work / "tags" / "ignition" / "full-tag-export.json").read_text(encoding="utf-8"))
    for machine in doc["tags"][0]["tags"][0]["tags"]:
        if machine.get("name") == "Machine1":
            status = next(t for t in machine["tags"] if t.get("name") == "Status")
            counter = next(t for t in status["tags"] if t.get("name") == "PartCount")
            counter.update({"scaleMode": "Linear", "rawLow": 0, "rawHigh": 1, "scaledLow": 0, "scaledHigh": 2})
    export = d.root / "plant-export" / "ignition"
    export.mkdir(parents=True)
    (export / "full-tag-export.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    services = Services(config=app.config, store=app.store, directory=app.directory)
    for result in run_checks(services, trigger="demo"):
        click.echo(f"    {result.line()}")


def _change_id(text: str) -> int:
    m = re.search(r"change request (\d+) opened", text)
    if not m:
        raise GatekeeperError("the demo push did not open a change request:\n" + text)
    return int(m.group(1))


def port_is_free(port: int, host: str = "127.0.0.1") -> None:
    """Bind the port for a moment; taken → one clear error naming the port and how to choose another."""
    import socket

    if not 0 < port < 65536:
        raise InputError(f"--port {port}: a TCP port is 1 to 65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise InputError(f"port {port} on {host} is taken ({exc.strerror}): choose another with "
                             f"--port, e.g. gatekeeper demo --port 8093 (make demo PORT=8093)") from None


def command_line() -> str:
    """How to run this very ``gatekeeper`` from any folder: the venv's script by its full path."""
    script = Path(sys.executable).with_name("gatekeeper")
    return str(script) if script.exists() else f"{sys.executable} -m gatekeeper"


def tour(url: str, d: Demo, second: int, no_serve: bool) -> str:
    """What to try, ending with how an approved change is deployed; every command works as copied."""
    gk = command_line()
    env = d.root / "env.sh"
    return f"""
Gatekeeper demo is {'built' if no_serve else 'running'}: {url}
  users: alice (engineer), bob (finance controller), carol (OT lead), dave (auditor),
         erin (emergency on-call), frank (admin) - demo password for all: {DEMO_PASSWORD}
  try:   log in as carol and sign {url}/changes/{second} (then bob: it is a financial change)
         log in as alice on the same page: the SoD panel says why she cannot sign
         log in as dave and download the register and evidence pack at {url}/audit
         {url}/drift: the live Ignition export differs from main
         log in as frank at {url}/access: who holds which right, conflicts; open and sign an access review
  cli:   (in another terminal; env.sh sets GATEKEEPER_CONFIG and the secrets)
         . {env}
         {gk} log verify
         {gk} change list --user dave
         {gk} audit export --from 2026-01-01 --to 2026-12-31 -o register.csv
         {gk} drift check
  git:   . {env}; cd {d.work}; export GATEKEEPER_USER=alice
         (on a real server the git host sets GATEKEEPER_USER); edit, commit, then
         git push origin HEAD:refs/heads/my-topic        # opens a change request
  deploy change request {second} once carol and bob have approved it (as alice, in {d.work}):
         git checkout main && git merge --ff-only raise-rpm && git push origin main
         (the gate lets exactly the approved content through; anything else is refused with the reason)
"""


def _install(app: AppContext, d: Demo) -> None:
    """Step 1: the bare repo with the hooks (their attestation logged) and a clone holding the plant."""
    from gatekeeper.gitio import install
    from gatekeeper.store import log

    click.echo(f"1. bare repo {d.bare} with the Gatekeeper hooks")
    install.init_bare(d.bare)
    attested = install.install(d.bare, REPO, d.config_path, python=sys.executable)
    with app.store.write() as session:
        log.append(session, attested)
    _git(d.root, "clone", "-q", str(d.bare), str(d.work))
    _git(d.work, "checkout", "-q", "-b", "initial-config")
    _copy_resource(resources.files("gatekeeper").joinpath("demo", "plant"), d.work)


def _first_change(app: AppContext, d: Demo) -> None:
    """Steps 2-4: the plant's configuration through a change request, signed and deployed."""
    click.echo("2. alice pushes the plant's configuration to a topic branch: a change request opens")
    d.commit("alice", "Plant A: initial recipes, tag configurations and ERP posting mapping")
    first = _change_id(d.push("alice", "HEAD:refs/heads/initial-config"))
    click.echo("3. carol (OT lead) and bob (finance controller) sign it")
    _sign(app, first, "carol", "Approved for production", "Initial configuration reviewed")
    _sign(app, first, "bob", "Reviewed and approved", "ERP postings match the cost centres")
    click.echo("4. alice pushes main: the gate checks the approved content and deploys it")
    _git(d.work, "checkout", "-q", "-b", "main")
    d.push("alice", "main")


def _second_change(d: Demo) -> int:
    """Step 5: a setpoint and a posting unit changed; the change request waits for the visitor to sign."""
    click.echo("5. alice raises a setpoint and changes a posting unit: a second change request waits for you")
    _git(d.work, "checkout", "-q", "-b", "raise-rpm")
    recipe = d.work / "recipes" / "MasterRecipe_B2MML.xml"
    text = recipe.read_text(encoding="utf-8")
    recipe.write_text(text.replace("<b2mml:ValueString>200<", "<b2mml:ValueString>240<", 1), encoding="utf-8")
    mapping = d.work / "erp" / "production-postings.csv"
    lines = mapping.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace(",EA,1,", ",EA,2,", 1)
    mapping.write_text("".join(lines), encoding="utf-8")
    d.commit("alice", "Raise stirrer speed to 240 rpm; count parts in pairs")
    return _change_id(d.push("alice", "HEAD:refs/heads/raise-rpm", "-o", "gatekeeper.ticket=OT-1234"))


@click.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), default="demo-data",
              show_default=True, help="Folder for the demo (rebuilt on every run).")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to serve on (make demo PORT=…).")
@click.option("--no-serve", is_flag=True, help="Build the demo and exit (for scripts and tests).")
@pass_app
def demo(app: AppContext, directory: Path, port: int, no_serve: bool) -> None:
    """Build a demo plant repo, users and service data, then serve."""
    from waitress.server import create_server

    from gatekeeper.actions.context import Services
    from gatekeeper.notify import sink
    from gatekeeper.notify.worker import Worker, start_background
    from gatekeeper.web import create_app

    port_is_free(port)  # before anything is built: a taken port is named with the option that fixes it
    d = Demo(directory, port)
    click.echo(f"building the demo in {d.root}")
    d.prepare()
    stop_sink = sink.start(d.root, d.config_path)  # the outbox made visible (issue 14)
    app.config_path = str(d.config_path)
    server = create_server(create_app(app.config), host="127.0.0.1", port=port, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _install(app, d)
    _first_change(app, d)
    second = _second_change(d)
    click.echo("6. someone scales a part counter in the Ignition designer, behind Git's back: drift")
    _drift(app, d)
    click.echo("7. the notification outbox delivers: mail to the people who may sign, the author, ...")
    services = Services(config=app.config, store=app.store, directory=app.directory)
    click.echo(f"    outbox: {Worker(services).run_once().line()} (mails in {d.root / 'outbox'})")
    click.echo(tour(app.config.service.url, d, second, no_serve))
    if no_serve:
        server.close()
        stop_sink()
        return
    start_background(services)
    click.echo("serving; Ctrl-C to stop")
    try:
        thread.join()
    except KeyboardInterrupt:
        server.close()
