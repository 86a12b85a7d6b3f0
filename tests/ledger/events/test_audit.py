"""Evidence trail log kinds (``ledger.events.audit``): the period's ``from`` key, rotations, refusals."""

from __future__ import annotations

from gatekeeper.ledger import events as ev


def test_the_period_is_logged_under_from_and_read_back_into_from_() -> None:
    exported = ev.AuditExported(from_="2026-01-01T00:00:00Z", to="2026-04-01T00:00:00Z", upto=90,
                                files={"register.csv": "a" * 64}, filters={"repo": "plant-a-ot"})
    payload = exported.to_payload()
    assert payload["from"] == "2026-01-01T00:00:00Z" and "from_" not in payload
    assert ev.parse("audit.exported", payload) == exported
    reconciled = ev.AuditReconciled(from_="2026-01-01T00:00:00Z", to="2026-02-01T00:00:00Z",
                                    rows=({"kind": "reconcile-gap"},), lines=("main: 3 commits",))
    assert ev.AuditReconciled.from_payload(reconciled.to_payload()) == reconciled
    assert ev.AuditReconciled.from_payload({"to": "x"}).from_ == ""  # no period logged: the default


def test_key_rotations_and_witness_refusals_round_trip() -> None:
    rotated = ev.KeyRotated(old_key_id="k1", new_key_id="k2", old_public_key="PEM1", new_public_key="PEM2",
                            signature="c2ln")
    refused = ev.WitnessRefused(witness="w1", url="http://w1", size=8, status=None, reason="unreachable")
    for event in (rotated, refused):
        assert ev.parse(event.KIND, event.to_payload()) == event
    assert (rotated.KIND, refused.KIND) == ("key.rotated", "witness.refused")
