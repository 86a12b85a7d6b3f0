"""``gatekeeper check``: local validation by category; every file is validated or named as skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.git import gatekeeper, git, no_git_env
from tests.support.plant import Plant

FIX = Path(__file__).parents[1] / "fixtures" / "formats"


def work_tree(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", str(work))
    (work / "erp").mkdir()
    (work / "recipes").mkdir()
    (work / "docs").mkdir()
    shutil.copy(FIX / "erp-mapping" / "production-postings.bad.csv", work / "erp" / "postings.csv")
    shutil.copy(FIX / "batchml" / "MasterRecipe_B2MML.xml", work / "recipes" / "master.xml")
    (work / "notes.txt").write_text("not validated\n")
    (work / "docs" / "intro.md").write_text("# plant\n")
    return work


def test_check_validates_by_category_and_fails_on_errors(plant: Plant, tmp_path: Path) -> None:
    work = work_tree(tmp_path)
    proc = gatekeeper(plant, "check", str(work / "recipes" / "master.xml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gatekeeper check: 1 file(s) validated, 0 error(s), 0 warning(s); 0 skipped (nothing to validate), " \
           "0 not checked — OK" in proc.stderr
    proc = gatekeeper(plant, "check", str(work))
    assert proc.returncode == 1
    assert any(line.startswith("erp/postings.csv:line ") and ": error: " in line for line in proc.stdout.splitlines())
    assert "notes.txt: skipped: category default has no format (nothing to validate; the approval rules still " \
           "apply when it is pushed)" in proc.stderr
    assert "docs/intro.md: skipped: category docs has no format" in proc.stderr


def test_nothing_validated_is_not_all_good(plant: Plant, tmp_path: Path) -> None:
    work = work_tree(tmp_path)
    proc = gatekeeper(plant, "check", str(work / "docs" / "intro.md"), str(work / "notes.txt"))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "gatekeeper check: 0 file(s) validated, 0 error(s), 0 warning(s); 2 skipped (nothing to validate), "
        "0 not checked — nothing was validated (exit 1; --allow-none accepts a run where no file needs validating)")
    proc = gatekeeper(plant, "check", "--allow-none", str(work / "docs" / "intro.md"))
    assert proc.returncode == 0 and "docs/intro.md: skipped: category docs has no format" in proc.stderr
    # The whole repo (git ls-files): a file deleted in the working tree is not a finding.
    git(work, "add", "-A")
    (work / "notes.txt").unlink()
    proc = subprocess.run([sys.executable, "-m", "gatekeeper", "--config", str(plant.config), "check"], cwd=work,
                          capture_output=True, text=True, env=no_git_env())
    assert "notes.txt" not in proc.stderr and "2 file(s) validated" in proc.stderr


def test_files_that_cannot_be_checked_are_named_and_fail(plant: Plant, tmp_path: Path) -> None:
    work = work_tree(tmp_path)
    outside = tmp_path / "elsewhere.xml"
    shutil.copy(work / "recipes" / "master.xml", outside)
    (work / "recipes" / "link.xml").symlink_to(outside)
    os.mkfifo(work / "recipes" / "pipe.xml")
    proc = gatekeeper(plant, "check", str(work / "recipes" / "master.xml"), str(outside),
                      str(work / "recipes" / "link.xml"), str(work / "recipes" / "pipe.xml"))
    assert proc.returncode == 1
    err = proc.stderr
    assert f"{outside}: not checked: outside the repository {work} (category patterns are relative to its root)" in err
    assert "recipes/link.xml: not checked: a symbolic link: git stores the link, not the file it points to" in err
    assert "recipes/pipe.xml: not checked: not a regular file" in err
    assert "1 file(s) validated, 0 error(s), 0 warning(s); 0 skipped (nothing to validate), 3 not checked — " \
           "FAILED: see the reasons above" in err
    proc = gatekeeper(plant, "check", str(work / "nope.xml"))
    assert proc.returncode == 2
    assert proc.stderr == f"gatekeeper: error: {work / 'nope.xml'}: no such file or directory\n"


def test_a_tracked_file_whose_name_is_not_utf8(plant: Plant, tmp_path: Path) -> None:
    work = work_tree(tmp_path)
    shutil.copy(work / "recipes" / "master.xml", work / os.fsdecode(b"recipes/caf\xe9.xml"))
    git(work, "add", "-A")
    proc = subprocess.run([sys.executable, "-m", "gatekeeper", "--config", str(plant.config), "check"], cwd=work,
                          capture_output=True, text=True, env=no_git_env())
    assert proc.returncode == 1
    assert "recipes/caf\\xe9.xml: not checked: its name is not UTF-8; the service would refuse the push " \
           "(rename it with git mv)" in proc.stderr
