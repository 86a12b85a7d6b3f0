"""Typed log events round-trip through their payloads; old payloads read with defaults."""

from __future__ import annotations

from gatekeeper.ledger import events as ev


def test_payloads_written_before_a_field_existed_read_with_defaults() -> None:
    old = {"change_id": 3, "repo": "r", "ref": "refs/heads/main", "old": "a", "new": "b", "revision": 1,
           "fingerprint": "f", "commits": ["c"], "state": "deployed", "gate_seq": 12}
    d = ev.ChangeDeployed.from_payload(old)
    assert (d.change_id, d.commits, d.allowed_by_gate, d.intent_id) == (3, ("c",), True, None)
    assert ev.parse("change.opened", {}) == ev.ChangeOpened()


def test_every_kind_is_in_the_one_registry_and_reads_an_empty_payload() -> None:
    kinds = [cls.KIND for cls in ev.KINDS]
    assert len(kinds) == len(set(kinds)) == 37 and all(kinds)
    assert {"change.sign_refused", "auth.locked", "session.revoked", "key.created", "drift.cleared",
            "notify.failed", "log.checkpoint", "hooks.attested", "config.loaded", "access.snapshot", "auth.signed_in",
            "access.review_signed", "audit.reconciled", "audit.exported", "key.rotated",
            "witness.refused"} <= set(kinds)
    for cls in ev.KINDS:  # payloads written before a field existed read back with its default
        assert ev.parse(cls.KIND, {}) == cls()
        assert cls.from_payload(cls().to_payload()) == cls()
