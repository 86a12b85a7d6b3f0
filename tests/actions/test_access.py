"""Access review use cases on real SQLite (and PostgreSQL where workers race) with the file directory:
rights with nesting and a disabled account, activity from the log, the daily snapshot and what
changed between two, a campaign from opening to signature, and revocations checked by snapshots."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatekeeper.actions import access
from gatekeeper.actions.context import Services
from gatekeeper.cli import main
from gatekeeper.errors import InputError, LedgerBroken
from gatekeeper.ledger import events as ev
from gatekeeper.policy.people import User
from gatekeeper.store import log
from gatekeeper.store.db import Store
from tests.support.access import ACCESS_GROUPS, make_access_plant, services, set_groups
from tests.support.plant import Plant
from tests.support.postgres import db_url, pg_database, pg_server, pg_url  # noqa: F401  (fixtures)

DAY1, DAY2 = "2026-03-01T00:00:05.000000Z", "2026-03-02T00:00:05.000000Z"
MALLORY = User("mallory", "Mallory Outsider", "mallory@plant.example")
DAVE = User("dave", "Dave Auditor", "dave@plant.example")


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    return make_access_plant(tmp_path / "plant")


@pytest.fixture
def svc(plant: Plant) -> Iterator[Services]:
    s = services(plant)
    yield s
    s.store.dispose()


def kinds(svc: Services) -> list[str]:
    with svc.store.read() as s:
        return [e.kind for e in log.entries(s)]


def test_rights_nesting_and_a_disabled_account_still_in_a_group(svc: Services) -> None:
    found = access.review(svc)
    rows = {(r.right.username, r.right.right, r.right.category, r.right.group): r for r in found.rows}
    carol = rows[("carol", "author", "recipes", "ot-engineers")]
    assert carol.right.via == ("ot-engineering-leads", "ot-engineers") and carol.conflicts == ()
    grace = [r for r in found.rows if r.right.username == "grace"]
    assert grace and all(r.conflicts == ("disabled",) and r.right.disabled for r in grace)
    assert {r.right.right for r in grace} == {"approve", "author"}  # nested into ot-engineers too
    assert rows[("erin", "emergency", "", "ot-emergency")].conflicts == ("emergency+author",)
    assert found.summary["conflicts"]["emergency+author"] == 1 and found.summary["disabled"] == 1
    assert {r.right.repo for r in found.rows if r.right.right in ("audit", "admin")} == {""}
    assert not any(r.right.username == "mallory" for r in found.rows)  # a reviewer holds no right by that
    with pytest.raises(InputError, match="repo 'nope' is not in the policy"):
        access.review(svc, "nope")


def test_last_activity_and_dormancy_come_from_the_log(svc: Services) -> None:
    with svc.store.write() as s:
        log.append(s, ev.ChangeOpened(change_id=1), "alice", ts="2025-01-01T00:00:00.000000Z")
        log.append(s, ev.AuthLocked(), "carol", ts="2026-02-27T00:00:00.000000Z")  # someone guessing: no act
        log.append(s, ev.AuthSignedIn(), "gina", ts="2026-02-27T00:00:00.000000Z")
    rows = {r.right.username: r for r in access.review(svc, now=DAY1).rows}
    assert (rows["alice"].last_activity, rows["alice"].dormant) == ("2025-01-01T00:00:00.000000Z", True)
    assert (rows["carol"].last_activity, rows["carol"].dormant) == (None, True)  # the log began > 90 days ago
    assert (rows["gina"].last_activity, rows["gina"].dormant) == ("2026-02-27T00:00:00.000000Z", False)


def test_snapshot_once_a_day_and_what_changed_between_two(svc: Services, plant: Plant) -> None:
    first = access.take_snapshot(svc, DAY1)
    assert first is not None and access.take_snapshot(svc, DAY1.replace("00:00:05", "18:00:00")) is None
    assert access.take_snapshot(svc, "2026-02-28T23:00:00.000000Z") is None  # a host whose clock is behind
    groups = {**ACCESS_GROUPS, "ot-engineering-leads": (["carol", "grace"], []),   # gina left
              "ot-emergency": ([], [])}                                            # erin no longer on call
    set_groups(plant, groups)
    second = access.take_snapshot(svc, DAY2)
    assert second is not None and second.seq == first.seq + 1
    snap = ev.AccessSnapshot.from_payload(second.payload)
    assert snap.previous_seq == first.seq and not snap.gained and not snap.changed
    assert {(r[0], r[1]) for r in snap.lost} == {("gina", "approve"), ("gina", "author"), ("erin", "emergency")}
    assert snap.summary["conflicts"]["emergency+author"] == 0
    with svc.store.read() as s:
        rows = access.change_rows(s, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z")
        baseline = access.change_rows(s, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
    assert {r["change"] for r in rows} == {"lost"} and {r["log_seq"] for r in rows} == {second.seq}
    assert {r["change"] for r in baseline} == {"baseline"}
    assert len(baseline) == ev.AccessSnapshot.from_payload(first.payload).count
    lost = [r for r in rows if r["username"] == "gina" and r["category"] == "recipes" and r["right"] == "author"]
    assert lost == [{"day": "2026-03-02", "change": "lost", "username": "gina", "name": "Gina Lead",
                     "right": "author", "repo": "plant-a-ot", "category": "recipes", "group": "ot-engineers",
                     "via": "ot-engineering-leads > ot-engineers", "disabled": False, "log_seq": second.seq}]


def test_access_changes_command(svc: Services, plant: Plant, capsys: pytest.CaptureFixture[str]) -> None:
    access.take_snapshot(svc, DAY1)
    set_groups(plant, {**ACCESS_GROUPS, "auditors": ([], [])})
    access.take_snapshot(svc, DAY2)
    assert main(["--config", str(plant.config), "access", "changes", "--from", "2026-03-02", "--to",
                 "2026-03-02"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == ["day,change,username,name,right,repo,category,group,via,disabled,log_seq",
                                    "2026-03-02,lost,dave,Dave Auditor,audit,,,auditors,auditors,false,2"]
    assert "1 change(s) of rights" in out.err
    assert main(["--config", str(plant.config), "access", "changes", "--from", "2026-03-05", "--to", "x"]) == 2
    assert main(["--config", str(plant.config), "access", "review", "--repo", "nope"]) == 2
    assert "repo 'nope' is not in the policy" in capsys.readouterr().err


def test_a_snapshot_that_does_not_follow_from_the_last_is_a_broken_log(svc: Services) -> None:
    access.take_snapshot(svc, DAY1)
    forged = ev.AccessSnapshot(day="2026-03-02", previous_seq=1, rights_sha256="0" * 64,
                               lost=(("nobody", "admin", "", "", "g", "N", [], False),))
    with svc.store.write() as s:
        log.append(s, forged)
    with svc.store.read() as s, pytest.raises(LedgerBroken, match=r"seq 2: access\.snapshot does not replay"):
        access.replay(s)


def test_one_snapshot_a_day_among_racing_workers(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    plant = make_access_plant(tmp_path / "plant", database=db_url)
    base = services(plant)
    base.config = replace(base.config, access=replace(base.config.access, daily_snapshot=True))
    workers = [replace(base, store=Store(db_url)) for _ in range(6)]  # one engine each: six workers
    barrier = threading.Barrier(len(workers))
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    ran: list[bool] = []

    def work(w: Services) -> None:
        barrier.wait()
        ran.append(access.run_due(w, now))

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(ran) == [False] * 5 + [True]
    assert not access.run_due(workers[0], now.replace(hour=23))        # claimed until midnight
    assert access.take_snapshot(workers[1], "2026-03-01T23:59:00.000000Z") is None  # the day has its snapshot
    assert access.run_due(workers[2], datetime(2026, 3, 2, 0, 0, 30, tzinfo=UTC))
    assert kinds(base).count(ev.ACCESS_SNAPSHOT) == 2
    for w in (base, *workers):
        w.store.dispose()


def test_notification_for_a_signed_review_lists_the_revocations(svc: Services) -> None:
    from gatekeeper.notify import messages, recipients
    from gatekeeper.notify.events import Snapshot
    from gatekeeper.policy.notices import for_event

    signed = ev.AccessReviewSigned(review_id=3, kept=5, revoked=1, signer="mallory", meaning="Reviewed and certified",
                                   revocations=(ev.Revocation(review_id=3, row=7, username="grace", right="approve",
                                                              repo="plant-a-ot", category="recipes",
                                                              group="ot-engineering-leads"),))
    assert for_event(signed) == ["access.review_signed"]
    assert for_event(ev.AccessSnapshot(revocations_open=())) == []
    snap = Snapshot.of(signed)
    with svc.store.read() as s:
        msg = messages.compose(svc, s, "access.review_signed", None, snap)
        people = recipients.for_event(svc, s, "access.review_signed", None, snap)
    assert msg.subject == "[Gatekeeper] Access review 3 signed: 1 right(s) to revoke in the directory"
    assert "remove grace from ot-engineering-leads (approve, plant-a-ot, recipes; review 3 row 7)" in msg.text()
    assert msg.url and msg.url.endswith("/access/reviews/3")
    assert {r.user.username for r in people} == {"frank", "dave", "mallory"}
    with svc.store.read() as s:  # a German recipient reads it in German; values stay as the log spells them
        text = messages.compose(svc, s, "access.review_signed", None, snap, lang="de").text()
    assert "Zugriffsprüfung 3 signiert: 1 Recht(e) im Verzeichnis zu entziehen" in text
    assert "Zeilen: 5 beibehalten, 1 entzogen" in text
    assert "grace aus ot-engineering-leads entfernen (approve, plant-a-ot, recipes; Prüfung 3 Zeile 7)" in text


def test_a_snapshot_the_directory_could_not_answer_is_tried_again(svc: Services, plant: Plant) -> None:
    from gatekeeper.errors import DirectoryUnavailable

    svc.config = replace(svc.config, access=replace(svc.config.access, daily_snapshot=True))
    good = plant.directory.read_text()
    plant.directory.write_text("[[users]\n")  # unreadable: the directory is down, fail closed
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with pytest.raises(DirectoryUnavailable):
        access.run_due(svc, now)
    plant.directory.write_text(good)
    assert not access.run_due(svc, now.replace(minute=35))  # not at once: in ten minutes
    assert access.run_due(svc, now.replace(minute=41))
    assert kinds(svc).count(ev.ACCESS_SNAPSHOT) == 1
