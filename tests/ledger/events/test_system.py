"""System log kinds (``ledger.events.system``): config, hooks, checkpoints, keys, sign-ins, deliveries."""

from __future__ import annotations

from gatekeeper.ledger import events as ev


def test_hooks_attested_keeps_its_old_shape_unless_a_layout_or_chain_is_said() -> None:
    plain = ev.HooksAttested(repo="r", files={"pre-receive": "a" * 64}, git_config={"receive.fsckObjects": "true"})
    assert set(plain.to_payload()) == {"repo", "path", "files", "git_config", "sha256"}
    gitea = ev.HooksAttested(repo="r", layout="gitea", chained=("pre-receive.d/gitea",))
    assert gitea.to_payload()["chained"] == ["pre-receive.d/gitea"]
    assert ev.parse("hooks.attested", gitea.to_payload()) == gitea


def test_checkpoints_carry_a_note_only_when_there_is_one() -> None:
    cp = ev.LogCheckpoint(seq=4, hash="h" * 64, ts="t", key_id="k", signature="s")
    assert "note" not in cp.to_payload()
    noted = ev.LogCheckpoint(seq=4, note="gatekeeper/log\n4\n…\n")
    assert ev.parse("log.checkpoint", noted.to_payload()).note == noted.note


def test_deliveries_never_need_more_than_their_outcome() -> None:
    sent = ev.NotifySent(delivery_id="msg_1", event="push.refused", channel="webhook", recipient="soc",
                         event_seq=3, attempts=1)
    failed = ev.NotifyFailed(delivery_id="msg_2", channel="email", recipient="alice", attempts=5,
                             error="SMTP AUTH refused")
    assert (sent.KIND, failed.KIND) == ("notify.sent", "notify.failed")
    assert ev.parse("notify.failed", failed.to_payload()) == failed
    assert "error" not in sent.to_payload()


def test_sessions_keys_config_and_locks_round_trip() -> None:
    kinds = [ev.ConfigLoaded(path="gk.toml", sha256="a" * 64, size=10, policy="[service]\n"),
             ev.KeyCreated(key_id="k", public_key="PEM", created_now=True),
             ev.AuthLocked(username="carol", typed="Carol", client="10.0.0.1", lock={"seconds": 900}),
             ev.AuthSignedIn(username="carol", client="10.0.0.1"),
             ev.SessionRevoked(username="carol", sessions=2, via="api")]
    for event in kinds:
        assert ev.parse(event.KIND, event.to_payload()) == event
    assert ev.KeyCreated().algorithm == "Ed25519"
