"""``drift.csv`` in the evidence pack and ``drift`` rows in ``exceptions.csv`` (SPEC §11)."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from tests.drift.conftest import FULL, DriftPlant
from tests.support.git import gatekeeper


def test_evidence_pack_holds_every_check_and_drift_exceptions(dp: DriftPlant) -> None:
    dp.http.routes["/ignition/tags"] = FULL.replace(b'"value": 0,', b'"value": 9,', 1)
    [drift] = dp.check(source="ignition-gateway")
    (dp.plant.dir / "live" / "FAIL").write_text("")
    [error] = dp.check(source="ignition-native")
    out = dp.plant.dir / "pack.zip"
    r = gatekeeper(dp.plant, "audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "--format", "zip",
                   "-o", str(out))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(out) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("drift.csv").decode("utf-8-sig"))))
        exceptions = list(csv.DictReader(io.StringIO(zf.read("exceptions.csv").decode("utf-8-sig"))))
        manifest = zf.read("MANIFEST.sha256").decode()
        key_id = json.loads(zf.read("checkpoint.json"))["key_id"]
    assert list(rows[0]) == ["ts", "repo", "source", "path", "state", "summary", "log_seq"]
    mine = {row["log_seq"]: row for row in rows}
    assert mine[str(drift.log_seq)]["state"] == "drift"
    assert mine[str(drift.log_seq)]["path"] == "tags/ignition/full-tag-export.json"
    assert mine[str(error.log_seq)]["state"] == "error" and mine[str(error.log_seq)]["repo"] == "plant-a-ot"
    kinds = {(row["kind"], row["detail"].split(":")[0]) for row in exceptions}
    assert ("drift", "ignition-gateway (tags/ignition/full-tag-export.json)") in kinds
    assert ("drift", "ignition-native (tags/ignition/native-tag-export.json)") in kinds
    assert "  drift.csv\n" in manifest
    verify = gatekeeper(dp.plant, "audit", "verify-pack", "--key-id", key_id, str(out))
    assert verify.returncode == 0, verify.stdout + verify.stderr
