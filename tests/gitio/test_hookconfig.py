"""``service.hook_token_file`` (SPEC §11): mode 0600/0400, owned by the hook's user, wins over
``hook_token_env`` on both sides (hook and service); anything else is refused naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatekeeper.config import parse
from gatekeeper.errors import ConfigError
from gatekeeper.gitio.hookconfig import load, read_token_file
from tests.support.git import git, make_repo
from tests.support.plant import POLICY, make_plant
from tests.support.service import HOOK_TOKEN, running


def token_file(tmp_path: Path, mode: int, text: str = "s3cret-token\n") -> Path:
    path = tmp_path / "hook-token"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_modes_are_read(tmp_path: Path, mode: int) -> None:
    assert read_token_file(str(token_file(tmp_path, mode)), owner=os.geteuid()) == "s3cret-token"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700, 0o601])
def test_looser_modes_are_refused_naming_the_file(tmp_path: Path, mode: int) -> None:
    path = token_file(tmp_path, mode)
    with pytest.raises(ConfigError, match=f"hook token file {path} has mode {mode:04o}; it must be 0600 or 0400"):
        read_token_file(str(path), owner=os.geteuid())


def test_missing_symlinked_foreign_or_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"hook token file {tmp_path / 'nope'}: No such file"):
        read_token_file(str(tmp_path / "nope"), owner=os.geteuid())
    real = token_file(tmp_path, 0o600)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(ConfigError, match=f"hook token file {tmp_path / 'link'} is a symbolic link"):
        read_token_file(str(tmp_path / "link"), owner=os.geteuid())
    with pytest.raises(ConfigError, match=f"hook token file {real} is owned by uid {os.geteuid()}, not by this user"):
        read_token_file(str(real), owner=os.geteuid() + 1)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(ConfigError, match="must hold one token on one line"):
        read_token_file(str(empty), owner=None)


def test_config_key_is_a_path_relative_to_the_policy(tmp_path: Path) -> None:
    policy = POLICY.format(url="http://127.0.0.1:1", database="sqlite:///x.db")
    text = policy.replace("fail_open = false\n", 'fail_open = false\nhook_token_file = "secrets/hook-token"\n')
    cfg = parse(text.encode(), tmp_path / "gatekeeper.toml")
    assert cfg.service.hook_token_file == tmp_path / "secrets" / "hook-token"
    (tmp_path / "gatekeeper.toml").write_text(text)
    assert load(str(tmp_path / "gatekeeper.toml")).hook_token_file == str(tmp_path / "secrets" / "hook-token")
    with pytest.raises(ConfigError, match="hook_token_file"):
        parse(text.replace('"secrets/hook-token"', '""').encode(), tmp_path / "gatekeeper.toml")


@pytest.mark.e2e
def test_the_file_wins_over_the_environment_on_both_sides(tmp_path: Path) -> None:
    policy = POLICY.replace("fail_open = false\n", 'fail_open = false\nhook_token_file = "hook-token"\n')
    plant = make_plant(tmp_path / "plant", policy=policy)
    token_file(plant.dir, 0o600, HOOK_TOKEN + "\n")
    with running(plant, env={"GATEKEEPER_HOOK_TOKEN": "not-the-token-env-service"}) as svc:
        repo = make_repo(plant)
        repo.commit({"docs/readme.md": "# plant\n"}, "docs need no approval")
        r = repo.push("HEAD:refs/heads/main", token="not-the-token-env-hook")
        assert r.ok, r.stderr
        (plant.dir / "hook-token").chmod(0o640)
        repo.commit({"docs/more.md": "# more\n"}, "more docs")
        r = repo.push("HEAD:refs/heads/main")
        assert not r.ok and any(f"hook token file {plant.dir / 'hook-token'} has mode 0640" in ln for ln in r.lines)
        assert git(repo.bare, "rev-parse", "main") != repo.head()
        assert svc.get("/healthz").status_code in (200, 503)
