"""actions.hookstate: the hook's files and settle facts are trusted only when sealed and matching (issue 22 item 2)."""

from __future__ import annotations

import copy
from typing import Any

from gatekeeper.actions import push
from gatekeeper.actions.context import Services
from tests.actions.test_push import (
    approve,
    fact,
    kinds,
    main_update,
    note,
    payloads,
    req,
    topic,
)

REFUSAL = {"pusher": "mallory", "push_options": [], "refused_at": "2026-01-02T03:04:05Z", "reason": "down",
           "refs": [{"ref": "refs/heads/main", "old": "a" * 40, "new": "e" * 40}]}


def intent(services: Services) -> dict[str, Any]:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    decided = push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))
    return dict(decided["intents"][0])


def codes(services: Services) -> list[str]:
    return [r["code"] for p in payloads(services, "hook.state_rejected") for r in p["reasons"]]


def test_a_spool_file_written_by_hand_is_logged_as_rejected_never_as_a_refusal(services: Services) -> None:
    unsealed = {"file": "spool/1.json", "kind": "spool", "repo": None, "record": REFUSAL, "mac": None}
    out = push.record_push(services, req([], state=[unsealed]))
    assert out["rejected"] == ["spool/1.json"] and "push.refused" not in kinds(services)
    [p] = payloads(services, "hook.state_rejected")
    assert p["file"] == "spool/1.json" and p["state"] == "spool" and "mallory" in p["content"]
    assert codes(services) == ["hook.state_unsealed"]


def test_an_edited_or_foreign_file_fails_its_seal(services: Services) -> None:
    it = intent(services)
    edited = note([it])
    edited["record"]["intents"][0]["new"] = "f" * 40
    foreign = note([it])
    foreign["repo"] = "plant-b"
    forged_spool = {"file": "spool/2.json", "kind": "spool", "repo": "plant-a-ot", "record": REFUSAL, "mac": "0" * 64}
    out = push.record_push(services, req([], state=[edited, forged_spool]))
    assert sorted(out["rejected"]) == ["intents/1-0.json", "spool/2.json"]
    assert sorted(codes(services)) == ["hook.state_forged", "hook.state_forged"]
    assert "push.refused" not in kinds(services)
    out = push.record_push(services, req([], state=[foreign]))
    assert codes(services)[-1] in ("hook.state_forged", "hook.state_foreign")


def test_an_edited_note_cannot_confirm_an_intent_git_refused(services: Services) -> None:
    """Issue 22 item 2: an intent note edited to name main's current value confirms nothing."""
    it = intent(services)
    forged = copy.deepcopy(note([it]))
    forged["record"]["intents"][0]["new"] = "c" * 40   # "main is at c…" — the mac no longer matches
    push.record_push(services, req([], settle=[fact({**it, "new": "c" * 40}, True, "c" * 40)], state=[forged]))
    assert "change.deployed" not in kinds(services)
    assert "hook.state_forged" in codes(services)


def test_settle_facts_must_name_the_intents_own_update(services: Services) -> None:
    it = intent(services)
    wrong = fact({**it, "new": "c" * 40}, True, "c" * 40)  # a sealed note, but facts about another update
    push.record_push(services, req([], settle=[wrong], state=[note([it])]))
    assert "change.deployed" not in kinds(services) and codes(services) == ["hook.state_mismatch"]
    asked = fact(it, True, "b" * 40, file="")  # facts the service did not ask about (too young)
    push.record_push(services, req([], settle=[asked]))
    assert "change.deployed" not in kinds(services) and codes(services)[-1] == "hook.state_mismatch"
    push.record_push(services, req([], settle=[fact(it, True, "b" * 40)], state=[note([it])]))
    assert [p["intent_id"] for p in payloads(services, "change.deployed")] == [it["id"]]


def test_unproven_intents_and_rejected_state_are_exceptions_both_ways(services: Services) -> None:
    """The pack's projection of the log and the database list the same exception rows, and an unproven
    intent leaves the list once a later run proves it (verify.py checks the pack the same way)."""
    import json

    from gatekeeper.audit.exceptions import exception_rows
    from gatekeeper.store import log
    from gatekeeper.verifier.projection import Params, project
    from gatekeeper.verifier.tables import EXCEPTION_COLUMNS, cells

    def both() -> tuple[list[list[str]], list[list[str]]]:
        start, end, now = "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "2999-06-01T00:00:00Z"
        with services.store.read() as s:
            rows = list(log.rows(s))
            tables = project(Params(start, end, now, len(rows)),
                             ((r[0], r[1], r[2], r[3], json.loads(r[4]), r[4].encode()) for r in rows))
            db = [cells(e, EXCEPTION_COLUMNS) for e in exception_rows(s, start, end, now)]
        projected = [cells(e, EXCEPTION_COLUMNS) for e in tables.exceptions if e["kind"] != "incomplete-approvals"]
        return projected, db

    it = intent(services)
    no_reflog = fact(it, False, "b" * 40, reflog=False, first_at=None)
    unsealed = {"file": "spool/1.json", "kind": "spool", "repo": None, "record": REFUSAL, "mac": None}
    push.record_push(services, req([], settle=[no_reflog], state=[note([it]), unsealed]))
    projected, db = both()
    kinds_ = [row[0] for row in projected]
    assert "deploy-unproven" in kinds_ and "hook-state-rejected" in kinds_ and projected == db
    push.record_push(services, req([], settle=[fact(it, True, "b" * 40)], state=[note([it])]))
    projected, db = both()
    assert "deploy-unproven" not in [row[0] for row in projected] and projected == db
