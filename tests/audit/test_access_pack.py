"""The access review in the evidence pack (issue 24): ``access-review.csv`` and ``access-changes.csv`` read
from the log, the revocation still open in ``exceptions.csv``, the metrics, and ``verify.py`` proving
both files from the log both ways — an edited, dropped or forged row fails even behind a re-made manifest."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.actions import access
from gatekeeper.actions import access_review as campaigns
from gatekeeper.audit.access import REVIEW_COLUMNS
from gatekeeper.checkpoints.keys import ensure_key
from gatekeeper.policy.people import User
from tests.audit.conftest import cli
from tests.audit.test_verify_standalone import bare, inproc, key_id, unpack
from tests.support.access import ACCESS_GROUPS, make_access_plant, services, set_groups
from tests.support.packs import remanifest

MALLORY = User("mallory", "Mallory Outsider", "mallory@plant.example")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two snapshots (erin leaves the emergency group), a signed review revoking grace's rights, a third
    snapshot finding them still held, then the pack of the whole history."""
    where = tmp_path_factory.mktemp("access-pack")
    plant = make_access_plant(where / "plant")
    svc = services(plant)
    ensure_key(svc.config, svc.store)
    access.take_snapshot(svc, "2026-03-01T00:00:05.000000Z")
    set_groups(plant, {**ACCESS_GROUPS, "ot-emergency": ([], [])})
    access.take_snapshot(svc, "2026-03-02T00:00:05.000000Z")
    review_id = campaigns.open_review(svc, MALLORY)
    with svc.store.read() as s:
        rows = campaigns.rows_of(s, review_id, limit=1000)
    grace = [r.position for r in rows if r.username == "grace"]
    campaigns.decide(svc, review_id, MALLORY, grace, "revoke", "=left in January")  # formula-like on purpose
    campaigns.decide(svc, review_id, MALLORY, [r.position for r in rows if r.username != "grace"], "keep")
    campaigns.sign(svc, review_id, MALLORY)
    access.take_snapshot(svc, "2999-01-01T00:00:05.000000Z")  # after the signature: still held
    svc.store.dispose()
    target = where / "pack.zip"
    rc, _, err = cli(plant, "audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "--format", "zip",
                     "-o", str(target))
    assert rc == 0, err
    return target


def read(pack: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(pack) as zf:
        return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"), newline="")))


def test_the_pack_holds_the_review_changes_exception_and_metrics(pack: Path) -> None:
    decided = read(pack, "access-review.csv")
    assert decided and list(decided[0]) == list(REVIEW_COLUMNS)
    revoked = [r for r in decided if r["decision"] == "revoke"]
    assert {r["username"] for r in revoked} == {"grace"} and {r["conflicts"] for r in revoked} == {"disabled"}
    assert {r["decided_by"] for r in decided} == {"mallory"} and all(r["log_seq"].isdigit() for r in decided)
    changes = read(pack, "access-changes.csv")
    assert {r["change"] for r in changes} == {"baseline", "lost"}
    assert [(r["username"], r["right"]) for r in changes if r["change"] == "lost"] == [("erin", "emergency")]
    found = [r for r in read(pack, "exceptions.csv") if r["kind"] == "access-revocation-open"]
    assert {r["actor"] for r in found} == {"grace"} and len(found) == len(revoked)
    metrics = {r["metric"]: r["value"] for r in read(pack, "metrics.csv")}
    # as of the last snapshot (in 2999): no conflict left, every holder dormant by then
    assert (metrics["access_reviews_signed"], metrics["access_conflicts"], metrics["dormant_accounts"]) == (
        "1", "0", "8")


def test_verify_py_proves_both_files_from_the_log(pack: Path, tmp_path: Path) -> None:
    folder = unpack(pack, tmp_path / "pack")
    proc = bare(folder, "--key-id", key_id(folder))
    assert proc.returncode == 0, proc.stderr
    assert any(line.startswith("OK access-review.csv: ") for line in proc.stdout.splitlines())
    assert any(line.startswith("OK access-changes.csv: ") for line in proc.stdout.splitlines())


def _rows(folder: Path, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((folder / name).read_text(encoding="utf-8"), newline="")))


def _write(folder: Path, name: str, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    (folder / name).write_text(buf.getvalue(), encoding="utf-8")


def _keep_instead_of_revoke(folder: Path) -> None:
    rows = _rows(folder, "access-review.csv")
    i = next(i for i, r in enumerate(rows) if "revoke" in r)
    rows[i][rows[0].index("decision")] = "keep"
    _write(folder, "access-review.csv", rows)


def _drop_a_decision(folder: Path) -> None:
    rows = _rows(folder, "access-review.csv")
    _write(folder, "access-review.csv", rows[:1] + rows[2:])


def _forge_a_joiner(folder: Path) -> None:
    rows = _rows(folder, "access-changes.csv")
    forged = list(rows[-1])
    forged[1], forged[2] = "gained", "mallory"
    _write(folder, "access-changes.csv", [*rows, forged])


def _hide_a_leaver(folder: Path) -> None:
    rows = _rows(folder, "access-changes.csv")
    _write(folder, "access-changes.csv", [r for r in rows if "lost" not in r])


@pytest.mark.parametrize(("tamper", "message"), [
    (_keep_instead_of_revoke, "access-review.csv row \\d+ \\(the access.decided entry at log seq \\d+\\): decision "
                              "is 'keep' but the log records 'revoke'"),
    (_drop_a_decision, "access-review.csv lacks the access.decided entry at log seq \\d+ \\(before row 1\\)"),
    (_forge_a_joiner, "access-changes.csv row \\d+: .*, gained, mallory... is not in the log's tables"),
    (_hide_a_leaver, "access-changes.csv lacks lost emergency of erin in the access.snapshot at log seq \\d+"),
])
def test_an_edited_row_fails_behind_a_remade_manifest(pack: Path, tmp_path: Path, tamper: Callable[[Path], None],
                                                       message: str) -> None:
    import re

    folder = unpack(pack, tmp_path / "pack")
    tamper(folder)
    remanifest(folder)
    rc, _, err = inproc(folder, "--key-id", key_id(folder))  # the bare verify.py: the test above and tests/verifier
    assert rc == 1 and re.search(message, err), err


def test_verify_pack_runs_the_same_access_checks(pack: Path, tmp_path: Path) -> None:
    from tests.audit.test_evidence import rewrite

    plant_config = pack.parent / "plant" / "gatekeeper.toml"
    with zipfile.ZipFile(pack) as zf:
        kid = json.loads(zf.read("checkpoint.json"))["key_id"]
    rc, out, err = main_cli(plant_config, "audit", "verify-pack", "--key-id", kid, str(pack))
    assert rc == 0, err
    assert "OK access-review.csv: " in out and "OK access-changes.csv: " in out
    with zipfile.ZipFile(pack) as zf:
        text = zf.read("access-changes.csv").decode()
    forged = rewrite(pack, tmp_path / "forged.zip", "access-changes.csv",
                     text.replace(",lost,erin,", ",changed,erin,").encode(), fix_manifest=True)
    rc, _, err = main_cli(plant_config, "audit", "verify-pack", "--key-id", kid, str(forged))
    assert rc == 1 and "access-changes.csv row " in err, err


def main_cli(config_path: Path, *args: str) -> tuple[int, str, str]:
    """``gatekeeper --config FILE ARGS`` in this process (``tests.audit.conftest.cli`` for a path)."""
    import contextlib

    from gatekeeper.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--config", str(config_path), *args])
    return rc, out.getvalue(), err.getvalue()
