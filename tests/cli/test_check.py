"""``gatekeeper check``: local validation by category, exit 1 on errors (issue 5)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.git import gatekeeper, git
from tests.support.plant import Plant

FIX = Path(__file__).parents[1] / "fixtures" / "formats"


def test_check_validates_by_category_and_fails_on_errors(plant: Plant, tmp_path: Path) -> None:
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", str(work))
    (work / "erp").mkdir()
    (work / "recipes").mkdir()
    shutil.copy(FIX / "erp-mapping" / "production-postings.bad.csv", work / "erp" / "postings.csv")
    shutil.copy(FIX / "batchml" / "MasterRecipe_B2MML.xml", work / "recipes" / "master.xml")
    (work / "notes.txt").write_text("not validated\n")
    proc = gatekeeper(plant, "check", str(work / "recipes" / "master.xml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 file(s), 0 error(s)" in proc.stderr
    proc = gatekeeper(plant, "check", str(work))
    assert proc.returncode == 1
    assert any(line.startswith("erp/postings.csv:line ") and ": error: " in line for line in proc.stdout.splitlines())
    assert "notes.txt" not in proc.stdout
