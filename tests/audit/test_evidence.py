"""The evidence pack: every file SPEC §9 lists, a manifest and a log that verify, tampering caught."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from gatekeeper.audit.evidence import FILES, VERIFY_COMMAND
from gatekeeper.audit.packzip import MANIFEST
from tests.audit.conftest import FORMULA_COMMENT, PERIOD, SPEC_COLUMNS, World, change, cli, export

EXPECTED = {"register.csv", "register.xlsx", "approvals.csv", "exceptions.csv", "log.jsonl",
            "checkpoint.json", "public-key.pem", "verification.txt", "policy.toml", "policy-history.csv",
            "access-review.csv", "access-changes.csv", "controls.md", "MANIFEST.sha256", "drift.csv", "metrics.csv",
            "report.html", "verify.py",
            "comments.csv"}


@pytest.fixture(scope="module")
def pack(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(world, "zip", tmp_path_factory.mktemp("pack"))


def read_csv(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"), newline="")))


def zf_header(pack: Path, name: str) -> str:
    with zipfile.ZipFile(pack) as zf:
        return zf.read(name).decode("utf-8").splitlines()[0]


def rewrite(src: Path, dst: Path, name: str, data: bytes, *, fix_manifest: bool = False) -> Path:
    with zipfile.ZipFile(src) as zin:
        files = {n: zin.read(n) for n in zin.namelist()}
    files[name] = data
    if fix_manifest:
        files[MANIFEST] = "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n"
                                  for n in sorted(files) if n != MANIFEST).encode()
    with zipfile.ZipFile(dst, "w") as zout:
        for n, d in files.items():
            zout.writestr(n, d)
    return dst


def test_pack_holds_every_file_and_the_manifest_covers_them(pack: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        assert set(zf.namelist()) == EXPECTED == {*FILES, MANIFEST}
        manifest = zf.read(MANIFEST).decode().splitlines()
        assert [line.split("  ")[1] for line in manifest] == sorted(FILES)
        for line in manifest:
            digest, name = line.split("  ")
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest
        register = list(csv.reader(io.StringIO(zf.read("register.csv").decode(), newline="")))
        assert register[0] == SPEC_COLUMNS and [r[0] for r in register[1:]] == ["1", "2", "3", "4"]
        assert zf.read("register.xlsx")[:2] == b"PK"


def key_id(pack: Path) -> str:
    with zipfile.ZipFile(pack) as zf:
        return str(json.loads(zf.read("checkpoint.json"))["key_id"])


def test_pack_verifies_with_verify_pack_and_log_verify(world: World, pack: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rc, out, err = cli(world.plant, "audit", "verify-pack", "--key-id", key_id(pack), str(pack))
    assert rc == 0, err
    assert out.splitlines()[-1].startswith("gatekeeper audit verify-pack: OK: every check passed; origin pinned")
    rc, out, err = cli(world.plant, "audit", "verify-pack", str(pack))  # nothing pinned: consistent, origin open
    assert rc == 3 and f"compare key id {key_id(pack)} with your records" in out
    with zipfile.ZipFile(pack) as zf:
        zf.extractall(tmp_path)
        verification = zf.read("verification.txt").decode()
    assert "RESULT: OK" in verification and VERIFY_COMMAND in verification
    assert VERIFY_COMMAND == ("gatekeeper log verify --export log.jsonl --checkpoint checkpoint.json "
                              "--public-key public-key.pem")
    monkeypatch.chdir(tmp_path)  # the auditor's command, as written, in the unpacked folder
    rc, out, err = cli(world.plant, *VERIFY_COMMAND.split()[1:])
    assert rc == 0, err
    assert out.startswith("log intact: ")


def test_altered_file_fails_verify_pack(world: World, pack: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        register = zf.read("register.csv")
    bad = rewrite(pack, tmp_path / "bad.zip", "register.csv", register.replace(b"deployed", b"approved", 1))
    rc, _, err = cli(world.plant, "audit", "verify-pack", str(bad))
    assert rc == 1
    assert "register.csv: SHA-256" in err and "the file was altered" in err


def test_altered_log_fails_even_with_a_recomputed_manifest(world: World, pack: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        lines = zf.read("log.jsonl").split(b"\n")
    lines[4] = lines[4].replace(b'"actor":"', b'"actor":"x', 1)
    bad = rewrite(pack, tmp_path / "bad.zip", "log.jsonl", b"\n".join(lines), fix_manifest=True)
    rc, _, err = cli(world.plant, "audit", "verify-pack", str(bad))
    assert rc == 1
    assert "seq 5: hash does not recompute" in err


def test_not_a_pack_fails_with_one_line(world: World, tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    rc, _, err = cli(world.plant, "audit", "verify-pack", str(tmp_path / "x.zip"))
    assert rc == 1 and "not a readable zip file" in err
    with zipfile.ZipFile(tmp_path / "y.zip", "w") as zf:
        zf.writestr("register.csv", "x")
    rc, _, err = cli(world.plant, "audit", "verify-pack", str(tmp_path / "y.zip"))
    assert rc == 1 and "MANIFEST.sha256 is missing" in err


def test_approvals_csv_one_row_per_signature(world: World, pack: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        rows = read_csv(zf, "approvals.csv")
    assert list(rows[0]) == ["change_id", "revision", "fingerprint", "username", "name", "group", "decision",
                             "meaning", "comment", "signed_at", "memberships", "log_seq", "ticket"]
    assert [(r["change_id"], r["username"], r["group"], r["decision"]) for r in rows] == [
        ("1", "bob", "finance-controllers", "approve"), ("1", "carol", "ot-engineering-leads", "approve"),
        ("2", "gina", "ot-engineering-leads", "reject"), ("3", "carol", "ot-engineering-leads", "approve")]
    gina = rows[2]
    assert gina["comment"] == "'" + FORMULA_COMMENT and gina["name"] == "Gina Lead"
    assert gina["memberships"] == "ot-engineering-leads" and gina["meaning"] == "Reviewed and rejected"
    with zipfile.ZipFile(pack) as zf:
        said = read_csv(zf, "comments.csv")  # the discussion next to the signatures, formula-safe like them
    assert [(r["change_id"], r["path"], r["username"], r["name"], r["comment"]) for r in said] == [
        ("2", "tags/line1.txt", "gina", "Gina Lead", "'" + FORMULA_COMMENT)]
    api = {(a["username"], a["decision"]): a for a in change(world, 1)["approvals"]}
    assert rows[0]["signed_at"] == api[("bob", "approve")]["signed_at"]
    assert int(rows[0]["log_seq"]) == api[("bob", "approve")]["log_seq"]
    assert rows[0]["fingerprint"] == change(world, 1)["fingerprint"]
    assert [r["ticket"] for r in rows] == [change(world, int(r["change_id"]))["ticket"] for r in rows]  # issue 22


def test_exceptions_csv(world: World, pack: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        rows = read_csv(zf, "exceptions.csv")
    assert list(rows[0]) == ["kind", "at", "actor", "repo", "ref", "change_id", "detail", "log_seq"]
    rows = [r for r in rows if r["kind"] != "sign-refused"]  # refused signatures other modules add to the world
    assert [(r["kind"], r["actor"], r["ref"], r["change_id"]) for r in rows] == [
        ("push.refused", "alice", "refs/heads/main", ""), ("push.refused", "alice", "refs/heads/main", ""),
        ("emergency", "erin", "refs/heads/main", "3"), ("emergency", "erin", "refs/heads/main", "4")]
    assert "config/plant.txt (default) needs 1 approval by ot-engineering-leads" in rows[0]["detail"]
    assert rows[1]["detail"].startswith("emergency requested (line 3 down): refusing refs/heads/main: alice "
                                        "may not push emergency changes")
    assert "line 3 down" in rows[2]["detail"] and "state now retro-approved" in rows[2]["detail"]
    assert all(r["log_seq"].isdigit() for r in rows)


def test_policy_files_and_access_review(world: World, pack: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        assert zf.read("policy.toml") == world.plant.config.read_bytes()
        history = read_csv(zf, "policy-history.csv")
        access = read_csv(zf, "access-review.csv")
        controls = zf.read("controls.md").decode()
        cp = zf.read("checkpoint.json").decode()
    assert list(history[0]) == ["ts", "sha256", "log_seq"]
    assert history[-1]["sha256"] == hashlib.sha256(world.plant.config.read_bytes()).hexdigest()
    assert access == []  # no access review in this history (tests/audit/test_access_pack.py has one)
    header = zf_header(pack, "access-review.csv")
    assert header == ("username,name,right,repo,category,group,via,conflicts,last_activity,dormant,decision,"
                      "decided_by,decided_at,log_seq")
    for text in ("Repository `plant-a-ot`: branches `main` or `release/*`",
                 "`release/*` covers `release/2026/q1` and `main` does not cover `fix/main`",
                 "**erp-mapping** (files matching `erp/**`), financially relevant: needs 1 approval by a "
                 "member of `finance-controllers`; and 1 approval by a member of `ot-engineering-leads`",
                 "**docs** (files matching `docs/**` or `*.md`): needs no approval",
                 "Only members of `ot-engineers` may author such changes",
                 "one person fills at most one approval slot", "Members of `ot-emergency` may deploy",
                 "deadline of 72 hours", "(`fail_open = false`)"):
        assert text in controls, text
    assert '"key_id"' in cp


def test_api_evidence_download(world: World, tmp_path: Path) -> None:
    q = f"/api/v1/audit/evidence?from={PERIOD[0]}&to={PERIOD[1]}"
    assert world.service.get(q, "alice").status_code == 403
    resp = world.service.get(q, "dave")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
    (tmp_path / "api.zip").write_bytes(resp.content)
    rc, out, err = cli(world.plant, "audit", "verify-pack", "--key-id", key_id(tmp_path / "api.zip"),
                       str(tmp_path / "api.zip"))
    assert rc == 0, err
    assert "by dave, period" in out  # audit.exported names the auditor who downloaded it


def test_register_row_not_tied_to_the_log_fails_verify_pack(world: World, pack: Path, tmp_path: Path) -> None:
    """An edit behind a re-made manifest: the hashes match, but the row's log seqs no longer say so."""
    import csv
    import io

    with zipfile.ZipFile(pack) as zf:
        rows = list(csv.reader(io.StringIO(zf.read("register.csv").decode("utf-8"), newline="")))
    assert rows[1][0] == "1"
    at = rows[0].index("log_seqs")
    rows[1][at] += " 2"  # seq 2 is not about change 1
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    bad = rewrite(pack, tmp_path / "bad.zip", "register.csv", out.getvalue().encode("utf-8"), fix_manifest=True)
    rc, _, err = cli(world.plant, "audit", "verify-pack", str(bad))
    assert rc == 1
    assert "register.csv row 1 (change 1, log seqs " in err and "log_seqs is '" in err and " 2' but the log" in err
    rc, out, _ = cli(world.plant, "audit", "verify-pack", "--key-id", key_id(pack), str(pack))
    assert rc == 0 and "OK register.csv: 4 rows, every change the log records for the period and nothing else" in out
