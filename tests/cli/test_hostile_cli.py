"""Hostile input on the command line (issue 22 item 10): every date option gives exit 2 naming the
option (never 3, never a traceback hint), and control characters reach a real terminal escaped."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.cli import main
from tests.support.git import no_git_env
from tests.support.plant import Plant

COMMANDS = [
    ["audit", "export", "-o", "{dir}/register.csv"],
    ["audit", "reconcile", "--repo", "{dir}/none.git", "--branch", "main"],
    ["audit", "sample"],
    ["access", "changes"],
    ["log", "export", "-o", "{dir}/log.jsonl"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize(("dates", "named"), [
    (("2026-01-01", "9999-12-31"), "--to '9999-12-31': out of range; a date from 1970-01-01 to 2999-12-31"),
    (("2026-01-01\n", "2026-02-01"), "--from '2026-01-01\\n': expected YYYY-MM-DD"),
    (("0001-01-01T00:00:00+01:00", "2026-02-01"), "--from '0001-01-01T00:00:00+01:00': not a valid timestamp"),
])
def test_date_options_exit_2_naming_the_option(plant: Plant, command: list[str], dates: tuple[str, str], named: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(dir=plant.dir) for a in command]
    rc = main(["--config", str(plant.config), *args, "--from", dates[0], "--to", dates[1]])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err == f"gatekeeper: error: {named}" + err.split(named, 1)[1] and "\n" not in err.rstrip("\n")


def on_a_terminal(*args: str, cwd: Path) -> bytes:
    """Run the CLI with stdout and stderr on a real pseudo-terminal; what the terminal received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gatekeeper", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, cwd=cwd, env=no_git_env())
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    proc.wait(timeout=60)
    return out


def test_escape_sequences_reach_a_terminal_escaped(tmp_path: Path) -> None:
    """A file name holding an escape sequence (as a CR's path can) is shown as ``\\x1b[2J``, not obeyed;
    the same output to a pipe is left to click (which strips styling from non-terminals)."""
    (tmp_path / "old.csv").write_text("tag,value\nTT-101,85\n")
    (tmp_path / "new.csv").write_text("tag,value\nTT-101,90\n")
    shown = on_a_terminal("diff", "old.csv", "new.csv", "--path", "tags/line\x1b[2J\x1b]0;pwned\x07.csv",
                          cwd=tmp_path)
    assert b"tags/line\\x1b[2J\\x1b]0;pwned\\x07.csv" in shown, shown
    assert b"\x1b" not in shown and b"\x07" not in shown
