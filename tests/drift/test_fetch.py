"""Reading live sources with limits (issue 15): timeouts, size limits, no redirects, http(s) only,
the header from the environment, commands without a shell; a source that cannot be read is an
error and never "in line"."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from gatekeeper import config as config_mod
from gatekeeper.config import DriftConfig, DriftSource
from gatekeeper.drift.fetch import SourceError, fetch
from gatekeeper.errors import ConfigError
from tests.drift.conftest import DriftPlant

LIMITS = DriftConfig(timeout_seconds=1.0, max_bytes=1000)


def limits_config(dp: DriftPlant) -> config_mod.Config:
    """The same plant with sources that fail in every way, and a repo with nothing approved yet."""
    text = dp.plant.config.read_text()
    text = text.split("\n[drift]")[0]
    text = text.replace('[[categories]]\nname = "recipes"', '[[repos]]\nname = "plant-b-ot"\nprotected = ["main"]\n'
                        'path = "plant-b-ot.git"\n\n[[categories]]\nname = "recipes"', 1)
    http = dp.http.url
    sources = [("slow", f'url = "{http}/slow"'), ("huge", f'url = "{http}/huge"'),
               ("redirect", f'url = "{http}/redirect"'), ("refused", 'url = "http://127.0.0.1:9/x"'),
               ("missing-file", 'file = "drop/nothing-here"')]
    text += "\n[drift]\ntimeout_seconds = 1.0\nmax_bytes = 600000\n"
    for name, how in sources:
        text += (f'\n[[drift.sources]]\nname = "{name}"\nrepo = "plant-a-ot"\n'
                 f'path = "tags/ignition/full-tag-export.json"\nformat = "ignition-tags"\n{how}\n')
    text += ('\n[[drift.sources]]\nname = "no-main"\nrepo = "plant-b-ot"\npath = "tags/x.json"\n'
             'format = "ignition-tags"\nfile = "drop/erp"\n')
    path = dp.plant.dir / "limits.toml"
    path.write_text(text)
    import subprocess

    subprocess.run(["git", "init", "-q", "--bare", str(dp.plant.dir / "plant-b-ot.git")], check=True)
    return config_mod.load(path)


def test_every_failure_is_an_error_with_one_line(dp: DriftPlant) -> None:
    started = time.monotonic()
    results = {r.source.name: r for r in dp.check(cfg=limits_config(dp))}
    assert time.monotonic() - started < 6  # fetched in parallel, each within its timeout
    assert {name: r.state for name, r in results.items()} == dict.fromkeys(results, "error")
    assert results["slow"].summary == "no response within 1 s"
    assert results["huge"].summary == "response of 800003 bytes exceeds drift.max_bytes (600000)"
    assert results["redirect"].summary == ("HTTP 302: redirected to http://127.0.0.2/elsewhere (configure the "
                                           "final URL; redirects are not followed)")
    assert results["refused"].summary.startswith("cannot fetch http://127.0.0.1:9/x: ")
    assert results["missing-file"].summary == f"{dp.plant.dir / 'drop' / 'nothing-here'} does not exist"
    assert results["no-main"].summary == "repo plant-b-ot has no branch main yet: nothing approved to compare with"


def test_the_header_is_sent_and_never_logged(dp: DriftPlant) -> None:
    dp.http.requests.clear()
    dp.check(source="kepware-api")
    [(path, headers)] = dp.http.requests
    assert path == "/kepware/project" and headers["Authorization"] == "Bearer kepware-config-api-token"
    with dp.store.read() as s:
        from sqlmodel import select

        from gatekeeper.store.tables import ChangeLog

        assert not any("kepware-config-api-token" in row.payload for row in s.exec(select(ChangeLog)).all())


def src(**how: object) -> DriftSource:
    return DriftSource(name="s", repo="r", path="p.json", format="ignition-tags", **how)  # type: ignore[arg-type]


def test_a_command_runs_without_a_shell(tmp_path: Path) -> None:
    live = fetch(src(command=("echo", "x; touch pwned", "$(id)")), LIMITS, False, cwd=tmp_path)
    assert live.data == b"x; touch pwned $(id)\n"
    assert not (tmp_path / "pwned").exists()


def test_a_command_is_killed_at_the_timeout_and_at_the_size_limit(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"did not finish within 1 s \(killed\)"):
        fetch(src(command=(sys.executable, "-c", "import time; time.sleep(30)")), LIMITS, False, cwd=tmp_path)
    assert time.monotonic() - started < 5
    with pytest.raises(SourceError, match=r"wrote more than drift.max_bytes \(1000 bytes\) \(killed\)"):
        fetch(src(command=(sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('x' * 4096)")), LIMITS,
              False, cwd=tmp_path)
    with pytest.raises(SourceError, match="cannot run /no/such/exporter"):
        fetch(src(command=("/no/such/exporter",)), LIMITS, False, cwd=tmp_path)


def test_a_file_drop_folder_gives_the_same_name_or_the_newest_file(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text("[1]")
    (tmp_path / "new.json").write_text("[2]")
    import os

    os.utime(tmp_path / "old.json", (1, 1))
    assert fetch(src(file=tmp_path), LIMITS, False).data == b"[2]"
    (tmp_path / "p.json").write_text("[3]")
    os.utime(tmp_path / "p.json", (1, 1))
    assert fetch(src(file=tmp_path), LIMITS, False).data == b"[3]"  # the repo file's own name wins
    (tmp_path / "big.json").write_bytes(b"0" * 2000)
    with pytest.raises(SourceError, match=r"exceeds drift\.max_bytes"):
        fetch(src(file=tmp_path / "big.json"), LIMITS, False)
    with pytest.raises(SourceError, match="use a file source pointing at the exported folder"):
        fetch(src(url="http://127.0.0.1:9/"), LIMITS, True)


@pytest.mark.parametrize(("entry", "message"), [
    ('url = "file:///etc/passwd"', "drift.sources[s].url: must start with http:// or https://"),
    ('url = "ftp://plc/x"', "must start with http:// or https://"),
    ('url = "https://admin:pw@kepware/config"', "url: must not hold credentials (user:password@)"),
    ('url = "http://a"\ncommand = ["cat"]', "drift.sources[s]: needs exactly one of url, command or file (found url, "
                                            "command)"),
    ('', "needs exactly one of url, command or file"),
    ('command = []', "needs exactly one of url, command or file"),
    ('command = "cat x | sh"', "drift.sources[s].command: must be a list"),
    ('file = "x"\nheader_env = "TOKEN"', "header_env: is only for url sources"),
    ('url = "http://a"\nheader = "Authorization: Bearer x"', "drift.sources[s].header: unknown key"),
    ('url = "http://a"\ntoken = "abc"', "secrets are never written in the file"),
])
def test_bad_sources_are_config_errors_with_their_line(dp: DriftPlant, entry: str, message: str) -> None:
    base = dp.plant.config.read_text().split("\n[drift]")[0]
    text = base + ('\n[[drift.sources]]\nname = "s"\nrepo = "plant-a-ot"\npath = "a.json"\n'
                   f'format = "ignition-tags"\n{entry}\n')
    path = dp.plant.dir / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    assert message in info.value.message
    assert f"{path}:" in info.value.message


@pytest.mark.parametrize(("entry", "message"), [
    ('repo = "nowhere"', "drift.sources[s].repo: names no [[repos]] entry (plant-a-ot)"),
    ('repo = "plant-a-ot"\npath = "../etc/passwd"', "must be a file or folder path inside the repo"),
    ('repo = "plant-a-ot"\npath = "a"\nformat = "yaml"', "unknown format 'yaml'"),
])
def test_source_fields_are_checked(dp: DriftPlant, entry: str, message: str) -> None:
    defaults = {"repo": '"plant-a-ot"', "path": '"a.json"', "format": '"ignition-tags"'}
    given = dict(line.split(" = ", 1) for line in entry.splitlines())
    body = "\n".join(f"{k} = {v}" for k, v in {**defaults, **given}.items())
    text = dp.plant.config.read_text().split("\n[drift]")[0] + f'\n[[drift.sources]]\nname = "s"\n{body}\nfile = "x"\n'
    path = dp.plant.dir / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        config_mod.load(path)


def test_interval_and_limits_are_checked(dp: DriftPlant) -> None:
    base = dp.plant.config.read_text().split("\n[drift]")[0]
    for entry, message in (("interval_minutes = -5", "interval_minutes: must be 0"),
                           ("max_bytes = 0", "max_bytes: must be a positive"),
                           ("interval = 5", "drift.interval: unknown key")):
        path = dp.plant.dir / "bad.toml"
        path.write_text(base + f"\n[drift]\n{entry}\n")
        with pytest.raises(ConfigError, match=message):
            config_mod.load(path)
    assert json.dumps(config_mod.load(dp.plant.config).drift.interval_minutes) == "0"
