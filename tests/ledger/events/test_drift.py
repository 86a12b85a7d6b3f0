"""Drift log kinds (``ledger.events.drift``): one source's check, drift found, cleared, failed."""

from __future__ import annotations

from gatekeeper.ledger import events as ev


def test_drift_kinds_share_the_source_and_round_trip() -> None:
    where = {"source": "line3-plc", "repo": "plant-a-ot", "path": "plc/line3.xml"}
    kinds = [ev.DriftChecked(**where, format="plcopen-xml", live_sha256="a" * 64, result="drift", trigger="schedule"),
             ev.DriftDetected(**where, live_sha256="a" * 64, expected_commit="c" * 40, matches_change=7,
                              diff=({"path": "Pou/Main", "change": "modified"},)),
             ev.DriftCleared(**where, live_sha256="b" * 64, was="drift", since="2026-01-01T00:00:00Z"),
             ev.DriftError(**where, error="timed out after 10 s")]
    assert [k.KIND for k in kinds] == ["drift.checked", "drift.detected", "drift.cleared", "drift.error"]
    for event in kinds:
        payload = event.to_payload()
        assert {k: payload[k] for k in where} == where
        assert ev.parse(event.KIND, payload) == event
