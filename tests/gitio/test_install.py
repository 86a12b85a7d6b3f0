"""install-hooks never overwrites a foreign hook: it is chained and runs first (SPEC §7)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.git import Repo, gatekeeper, git, make_repo
from tests.support.plant import Plant
from tests.support.service import Service

pytestmark = pytest.mark.e2e


def test_foreign_hooks_are_chained_and_update_left_alone(plant: Plant, service: Service) -> None:
    bare = plant.dir / "chained.git"
    git(plant.dir, "init", "-q", "--bare", str(bare))
    foreign = bare / "hooks" / "pre-receive"
    foreign.write_text("#!/bin/sh\nwhile read old new ref; do\n"
                       "  case $ref in *forbidden*) echo 'legacy hook says no' >&2; exit 1;; esac\ndone\n")
    foreign.chmod(0o755)
    update = bare / "hooks" / "update"
    update.write_text("#!/bin/sh\nexit 0\n")
    update.chmod(0o755)
    proc = gatekeeper(plant, "repo", "install-hooks", str(bare), "--name", "plant-a-ot")
    assert proc.returncode == 0, proc.stderr
    assert "kept the existing pre-receive hook as pre-receive.chained" in proc.stdout
    assert "legacy hook says no" in (bare / "hooks" / "pre-receive.chained").read_text()
    assert "gatekeeper-managed-hook" in (bare / "hooks" / "pre-receive").read_text()
    assert update.read_text() == "#!/bin/sh\nexit 0\n"
    assert git(bare, "config", "receive.advertisePushOptions") == "true"
    # Re-installing keeps the chain and does not nest it.
    assert gatekeeper(plant, "repo", "install-hooks", str(bare), "--name", "plant-a-ot").returncode == 0
    assert not (bare / "hooks" / "pre-receive.chained.chained").exists()
    work = plant.dir / "work-chained"
    git(plant.dir, "clone", "-q", str(bare), str(work))
    repo = Repo(bare=bare, work=work, plant=plant)
    repo.commit({"cfg/a.txt": "a\n"}, "a")
    r = repo.push("HEAD:refs/heads/forbidden-topic")
    assert not r.ok and "legacy hook says no" in r.stderr
    r = repo.push("HEAD:refs/heads/fine-topic")
    assert r.ok and "change request" in r.text()


def test_attestation_is_logged(repo: Repo, service: Service) -> None:
    entries = service.get("/api/v1/log?limit=100", "dave").json()["entries"]
    attested = [e for e in entries if e["kind"] == "hooks.attested"]
    assert attested and attested[0]["payload"]["repo"] == "plant-a-ot"
    assert set(attested[0]["payload"]["files"]) == {"pre-receive", "post-receive"}


def test_unknown_repo_name_and_non_bare_repo(plant: Plant, tmp_path: Path) -> None:
    proc = gatekeeper(plant, "repo", "create", str(tmp_path / "x.git"), "--name", "nope")
    assert proc.returncode != 0 and "repo 'nope' is not in the policy file" in proc.stderr
    git(tmp_path, "init", "-q", str(tmp_path / "work"))
    proc = gatekeeper(plant, "repo", "install-hooks", str(tmp_path / "work"), "--name", "plant-a-ot")
    assert proc.returncode != 0 and "is not a bare git repository" in proc.stderr
    assert make_repo(plant, "plant-a-ot").bare.exists()


def test_fsck_objects_is_set_and_attested(plant: Plant, tmp_path: Path) -> None:
    from gatekeeper.gitio import install

    bare = tmp_path / "fsck.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    attested = install.install(bare, "plant-a-ot", plant.config)
    assert git(bare, "config", "receive.fsckObjects") == "true"
    assert attested.git_config["receive.fsckObjects"] == "true"
    assert install.drift(bare, "plant-a-ot", attested) == []
    git(bare, "config", "receive.fsckObjects", "false")
    assert install.drift(bare, "plant-a-ot", attested) == [
        "git config receive.fsckObjects: 'false', attested 'true'"]
    older = replace(attested, git_config={"receive.advertisePushOptions": "true"})  # attested before the setting
    assert install.drift(bare, "plant-a-ot", older) == [
        "git config receive.fsckObjects: 'false', install-hooks sets 'true'"]


@pytest.mark.parametrize("other_python", [False, True])
def test_install_compiles_the_hooks_modules(plant: Plant, tmp_path: Path, other_python: bool) -> None:
    """A git server may run hooks with PYTHONDONTWRITEBYTECODE set, or as a user who cannot write
    __pycache__: install-hooks compiles the package for the hook's interpreter, so that no push
    compiles the hook's modules from source."""
    import importlib.util
    import os
    import sys

    import gatekeeper.gitio.receive as receive
    from gatekeeper.gitio import install

    cached = Path(importlib.util.cache_from_source(receive.__file__))
    cached.unlink(missing_ok=True)
    python = tmp_path / "python3"
    os.symlink(sys.executable, python)
    bare = tmp_path / "compiled.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    install.install(bare, "plant-a-ot", plant.config, python=str(python) if other_python else None)
    assert cached.exists()


@pytest.mark.parametrize(("layout", "ours"), [("gitlab", "custom_hooks/pre-receive.d/gatekeeper"),
                                              ("gitea", "hooks/pre-receive.d/gatekeeper")])
def test_layout_attestation_and_drift(plant: Plant, tmp_path: Path, layout: str, ours: str) -> None:
    from gatekeeper.gitio import install

    bare = tmp_path / "srv.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    for hook in ("pre-receive", "post-receive"):  # Gitea's dispatchers (GitLab's live in Gitaly)
        (bare / "hooks" / hook).write_text("#!/bin/sh\n# dispatcher\n")
        (bare / "hooks" / hook).chmod(0o755)
    payload = install.install(bare, "plant-a-ot", plant.config, layout=layout)
    assert payload.layout == layout and ours in payload.files
    assert ("hooks/pre-receive" in payload.files) == (layout == "gitea")  # the dispatcher is attested
    assert install.drift(bare, "plant-a-ot", payload) == []
    (bare / ours).write_text("#!/bin/sh\nexit 0\n")
    assert [d.split(":")[0] for d in install.drift(bare, "plant-a-ot", payload)] == [ours]


def test_an_installed_package_carries_the_shims_from_the_top_level_hooks_folder(tmp_path: Path) -> None:
    """``hooks/`` is the shims' one source; a non-editable install has them as ``gatekeeper/shims/`` and
    install-hooks finds them there (setup.py's package_dir mapping), byte for byte."""
    import shutil
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).parents[2]
    src = tmp_path / "src"  # a clean copy: building in the checkout would leave build/ and *.egg-info there
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(root / name, src / name)
    for folder in ("gatekeeper", "hooks"):
        shutil.copytree(root / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("gatekeeper-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert {"gatekeeper/shims/pre-receive", "gatekeeper/shims/post-receive"} <= names
        assert not any(n.startswith("hooks/") for n in names)  # no top-level package named hooks
        zf.extractall(tmp_path / "site")  # a pure-Python wheel: installed is unpacked
    probe = ("import sys; from gatekeeper.gitio.install import shim_dir; d = shim_dir(); "
             "print(d); sys.stdout.write(d.joinpath('pre-receive').read_text())")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    where, _, text = out.stdout.partition("\n")
    assert where == str(tmp_path / "site" / "gatekeeper" / "shims")
    assert text == (root / "hooks" / "pre-receive").read_text()
