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
