"""``gatekeeper drift check`` as monitoring systems run it: one line per source, exit 0/1/2."""

from __future__ import annotations

from tests.drift.conftest import FULL, DriftPlant
from tests.support.git import gatekeeper


def test_exit_0_all_in_line_1_drift_2_error_and_2_wins(dp: DriftPlant) -> None:
    ok = gatekeeper(dp.plant, "drift", "check")
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert [ln.split(": ")[:2] for ln in lines] == [[n, "in line"] for n in (
        "kepware-api", "ignition-gateway", "ignition-native", "kepware-maker", "erp-interface")]

    dp.http.routes["/ignition/tags"] = FULL.replace(b'"name": "ActiveAlarms"',
                                                    b'"name": "ActiveAlarms", "engUnit": "alarms"', 1)
    drift = gatekeeper(dp.plant, "drift", "check")
    assert drift.returncode == 1, drift.stderr
    assert ("ignition-gateway: drift: 1 change in tags/ignition/full-tag-export.json: tag "
            "Exchange/NPEDemo/ActiveAlarms engUnit set to alarms") in drift.stdout.splitlines()

    (dp.plant.dir / "live" / "FAIL").write_text("")
    both = gatekeeper(dp.plant, "drift", "check")
    assert both.returncode == 2
    assert any(ln.startswith("ignition-native: error: ") and ln.endswith("exited with 3: gateway refused the export")
               for ln in both.stdout.splitlines())


def test_repo_and_source_filters(dp: DriftPlant) -> None:
    one = gatekeeper(dp.plant, "drift", "check", "--repo", "plant-a-ot", "--source", "erp-interface")
    assert one.returncode == 0 and one.stdout.splitlines()[0].startswith("erp-interface: in line: matches main at ")
    assert len(one.stdout.splitlines()) == 1
    config_after = gatekeeper(dp.plant, "drift", "check", "--source", "kepware-maker")
    assert config_after.returncode == 0 and config_after.stdout.startswith("kepware-maker: in line")


def test_bad_names_are_one_line_errors_that_change_nothing(dp: DriftPlant) -> None:
    for args, message in ((("--source", "nope"), "unknown drift source 'nope' (known: kepware-api, ignition-gateway"),
                          (("--repo", "nope"), "unknown repo 'nope' (known: plant-a-ot)"),
                          (("--repo", "plant-a-ot", "--source", "nope"), "unknown drift source 'nope' in repo")):
        r = gatekeeper(dp.plant, "drift", "check", *args)
        assert r.returncode == 2 and r.stdout == ""
        assert r.stderr.startswith("gatekeeper: error: ") and message in r.stderr and "Traceback" not in r.stderr


def test_an_unreachable_database_is_an_error_not_drift(dp: DriftPlant) -> None:
    text = dp.plant.config.read_text().replace(dp.plant.database, "postgresql+psycopg://gk@127.0.0.1:9/gk")
    broken = dp.plant.dir / "broken-db.toml"
    broken.write_text(text)
    import subprocess
    import sys

    from tests.support.git import no_git_env

    r = subprocess.run([sys.executable, "-m", "gatekeeper", "--config", str(broken), "drift", "check"],
                       capture_output=True, text=True, env=no_git_env(), timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("gatekeeper: error: ") and "Traceback" not in r.stderr
