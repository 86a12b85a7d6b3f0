"""``gatekeeper diff`` (SPEC §12): the change lines approvers see, then NEW's findings; the format
from the policy for ``--path`` or from the content; as git's external diff driver in a real
``git diff``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from gatekeeper import formats
from tests.support.git import ALICE, gatekeeper, git, no_git_env
from tests.support.plant import Plant

FIX = Path(__file__).parents[1] / "fixtures" / "formats"
COUGH = FIX / "batchml" / "cough-syrup-pmw.xml"
QUANTITY = b"<batchML:ValueString>20</batchML:ValueString>"


def edited(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.xml", tmp_path / "new.xml"
    shutil.copy(COUGH, old)
    new.write_bytes(COUGH.read_bytes().replace(QUANTITY, b"<batchML:ValueString>25</batchML:ValueString>", 1))
    return old, new


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Without a policy file: the format comes from the content."""
    return subprocess.run([sys.executable, "-m", "gatekeeper", "diff", *args], capture_output=True, text=True,
                          cwd=cwd, env=no_git_env())


def test_prints_the_change_lines_of_the_service_then_the_findings(tmp_path: Path) -> None:
    old, new = edited(tmp_path)
    proc = run(str(old), str(new), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    service = formats.analyze("batchml", str(new), old.read_bytes(), new.read_bytes())
    assert [f"  ~ {c.text}" for c in service.changes] == proc.stdout.splitlines()[1:]
    assert proc.stdout.splitlines()[:2] == [f"{new} (batchml)", "  ~ parameter Mix Slurry A1.QUANTITY 1 20 → 25 kg"]
    broken = tmp_path / "broken.xml"
    broken.write_bytes(new.read_bytes().replace(b">25<", b">many<", 1))
    out = run(str(old), str(broken), cwd=tmp_path).stdout
    assert "findings in the new version (1):" in out
    assert "parameter Mix Slurry A1.QUANTITY 1: value many is not a number (data type positiveInteger)" in out


def test_the_policy_format_for_path_is_used_and_unreadable_input_exits_2(plant: Plant, tmp_path: Path) -> None:
    old, new = edited(tmp_path)
    proc = gatekeeper(plant, "diff", str(old), str(new), "--path", "recipes/syrup.xml")
    assert (proc.returncode, proc.stdout.splitlines()[0]) == (0, "recipes/syrup.xml (batchml)")
    proc = gatekeeper(plant, "diff", str(old), str(tmp_path / "missing.xml"))
    assert proc.returncode == 2
    missing = tmp_path / "missing.xml"
    assert proc.stderr.strip() == f"gatekeeper: error: {missing}: cannot read: No such file or directory"


def test_hostile_input_is_one_clear_finding_or_exit_2(tmp_path: Path) -> None:
    old, _new = edited(tmp_path)
    xxe = FIX / "hostile" / "xxe.xml"
    proc = run(str(old), str(xxe), "--path", "recipes/r.xml", cwd=tmp_path)
    assert proc.returncode == 0
    assert "error: XML external entities are not allowed" in proc.stdout and "root:" not in proc.stdout
    huge = tmp_path / "huge.xml"
    with huge.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)
    proc = run(str(old), str(huge), cwd=tmp_path)
    assert (proc.returncode, proc.stderr.strip()) == (
        2, f"gatekeeper: error: {huge}: larger than the 20 MB limit for configuration files")


def test_works_as_git_external_diff_driver(tmp_path: Path) -> None:
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", str(work))
    (work / "recipes").mkdir()
    shutil.copy(COUGH, work / "recipes" / "syrup.xml")
    (work / ".gitattributes").write_text("recipes/*.xml diff=gatekeeper\n")
    git(work, "config", "diff.gatekeeper.command", f"{sys.executable} -m gatekeeper diff --git")
    git(work, "add", ".")
    git(work, "commit", "-qm", "recipe", env=no_git_env(ALICE))
    target = work / "recipes" / "syrup.xml"
    target.write_bytes(target.read_bytes().replace(QUANTITY, b"<batchML:ValueString>25</batchML:ValueString>", 1))
    out = git(work, "diff")
    assert out.splitlines()[:3] == ["diff --gatekeeper a/recipes/syrup.xml b/recipes/syrup.xml",
                                    "recipes/syrup.xml (batchml)",
                                    "  ~ parameter Mix Slurry A1.QUANTITY 1 20 → 25 kg"]
