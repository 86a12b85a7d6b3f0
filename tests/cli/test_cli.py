"""The CLI's contract (SPEC §5, §10): --config anywhere, one-line errors, exit codes, no argv secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.support.git import gatekeeper, no_git_env
from tests.support.plant import Plant


def run(*args: str, input: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatekeeper", *args], capture_output=True, text=True,
                          input=input, env=no_git_env(), cwd=cwd)


def test_config_before_or_after_the_subcommand(plant: Plant) -> None:
    for args in (["--config", str(plant.config), "directory", "check", "carol"],
                 ["directory", "check", "carol", "--config", str(plant.config)]):
        proc = run(*args)
        assert proc.returncode == 0, proc.stderr
        assert "email:    carol@plant.example" in proc.stdout
        assert "ot-engineers  (ot-engineering-leads -> ot-engineers)" not in proc.stdout
        assert "ot-engineers  (ot-engineers <- ot-engineering-leads)" in proc.stdout


def test_config_from_environment(plant: Plant) -> None:
    proc = subprocess.run([sys.executable, "-m", "gatekeeper", "directory", "check", "bob"], capture_output=True,
                          text=True, env=no_git_env({"GATEKEEPER_CONFIG": str(plant.config)}))
    assert proc.returncode == 0 and "finance-controllers" in proc.stdout


def test_unknown_user_is_one_line(plant: Plant) -> None:
    proc = gatekeeper(plant, "directory", "check", "zed")
    assert proc.returncode == 1
    assert proc.stderr == "gatekeeper: error: user 'zed' not found in the file directory\n"


def test_hash_password_reads_stdin_not_argv() -> None:
    proc = run("directory", "hash-password", input="s3cret pass\n")
    assert proc.returncode == 0
    assert PasswordHasher().verify(proc.stdout.strip(), "s3cret pass")
    assert run("directory", "hash-password", "s3cret").returncode == 2


def test_usage_errors_and_debug(plant: Plant) -> None:
    proc = run("nonsense")
    assert proc.returncode == 2 and proc.stderr.startswith("gatekeeper: error: ")
    proc = run("--config", "/nonexistent.toml", "directory", "check", "x")
    assert proc.returncode == 2 and "cannot read configuration" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("--debug", "--config", "/nonexistent.toml", "directory", "check", "x")
    assert "Traceback" in proc.stderr


@pytest.mark.e2e
def test_demo_builds_on_embedded_defaults(tmp_path: Path) -> None:
    from tests.support.plant import free_port

    proc = run("demo", "--dir", str(tmp_path / "demo"), "--port", str(free_port()), "--no-serve")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "change request 1 deployed to refs/heads/main" in proc.stdout
    assert "change request 2 opened" in proc.stdout
    assert ("ignition-gateway: drift: 5 changes in tags/ignition/full-tag-export.json: tag "
            "Exchange/NPEDemo/Machine1/Status/PartCount scaleMode set to Linear") in proc.stdout  # issue 15
    assert (tmp_path / "demo" / "var" / "gatekeeper.db").exists()
    assert oct((tmp_path / "demo" / "env.sh").stat().st_mode & 0o777) == "0o600"
    # Issue 25, the first ten minutes: the printed commands work as copied, from any folder ...
    tour = proc.stdout[proc.stdout.index("  cli:"):]
    source = next(ln.strip() for ln in tour.splitlines() if ln.strip().startswith(". "))
    for command in ("log verify", "audit export"):
        line = next(ln.strip() for ln in tour.splitlines() if f" {command}" in ln and "gatekeeper" in ln)
        line = line.replace("-o register.csv", f"-o {tmp_path / 'register.csv'}")
        ran = subprocess.run(["bash", "-c", f"{source} && {line}"], capture_output=True, text=True, cwd="/",
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert ran.returncode == 0, (line, ran.stdout, ran.stderr)
    # ... and the tour ends with how the approved change is deployed
    assert "git checkout main && git merge --ff-only raise-rpm && git push origin main" in tour.splitlines()[-3]


def test_demo_names_a_taken_port_before_building(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run("demo", "--dir", str(tmp_path / "demo"), "--port", str(port), "--no-serve")
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"port {port} on 127.0.0.1 is taken" in proc.stderr and "--port" in proc.stderr
    assert "make demo PORT=" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "demo").exists()  # nothing was built


@pytest.mark.parametrize("args", [["log", "verify"], ["log", "export", "-o", "x.jsonl"],
                                  ["audit", "export", "--from", "2026-01-01", "--to", "2026-01-31", "-o", "r.csv"],
                                  ["access", "review"],
                                  ["access", "changes", "--from", "2026-01-01", "--to", "2026-01-31"]])
def test_read_only_commands_never_create_a_database(tmp_path: Path, plant: Plant, args: list[str]) -> None:
    db = Path(plant.config.read_text().split('database = "sqlite:///', 1)[1].split('"', 1)[0])
    db = db if db.is_absolute() else (plant.config.parent / db)
    if db.exists():
        db.unlink()
    proc = run("--config", str(plant.config), *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("gatekeeper: error: no database at ") and "--config" in proc.stderr
    assert not db.exists()


@pytest.mark.parametrize(("args", "hint"), [(["log", "verfy"], "'verify'"), (["lgo"], "'log'"),
                                            (["audit", "exprot"], "'export'")])
def test_a_typo_gets_a_suggestion(args: list[str], hint: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2 and "did you mean " + hint in proc.stderr.lower(), proc.stderr
    assert "--help lists the commands" in proc.stderr
