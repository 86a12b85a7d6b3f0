"""The projection's per-entry handlers (``verifier.kinds``), pure: the edge cases their fast paths must read
as the plain reading does: which change_ids name a CR, payloads logged before issue 21, rule sets shared
only when exactly alike (1, 1.0 and True, or two key orders, are different sets), values ``marshal`` cannot
write, the ticket a signature was given for (issue 22) and the state transitions."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from gatekeeper.verifier.kinds import Change, Signed
from gatekeeper.verifier.projection import Params, Projection, register_row
from gatekeeper.verifier.tables import RULES_FROM_REVISION, RULES_NOT_LOGGED

TS = "2026-03-02T10:00:00.000000Z"
RULES = [{"count": 1, "group": "ot-engineering-leads"}]


def projection() -> Projection:
    return Projection(Params("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z", 1000), False)


def opened(cid: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"change_id": cid, "repo": "plant-a-ot", "target": "main", "title": "t", "ticket": "CHG1", "revision": 1,
            "fingerprint": "f1", "categories": ["recipes"], "financial": False, "approvals_required": RULES,
            "sod_findings": [], "state": "pending", "pusher": "alice", **extra}


def signed(cid: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"change_id": cid, "fingerprint": "f1", "revision": 1, "signer": "carol", "name": "Carol Lead",
            "group": "ot-engineering-leads", "decision": "approve", "meaning": "Reviewed and approved",
            "comment": "ok", "memberships": [{"group": "ot-engineering-leads", "via": ["ot-engineering-leads", "x"]}],
            "state": "approved", **extra}


def feed(pr: Projection, *entries: tuple[str, dict[str, Any]]) -> Projection:
    for kind, payload in entries:
        pr.add(pr.last + 1, TS, kind, "alice", payload)
    return pr


class Id(enum.IntEnum):
    SEVEN = 7


@pytest.mark.parametrize("kind,make", [("change.opened", opened), ("change.approved", signed),
                                       ("change.deployed", lambda cid: {"change_id": cid, "state": "deployed"})])
def test_only_an_int_change_id_names_a_cr(kind: str, make: Any) -> None:
    pr = feed(projection(), *((kind, make(cid)) for cid in (True, False, "3", 4.0, None, [5], Id.SEVEN, 8)))
    pr.add(pr.last + 1, TS, kind, "alice", {"state": "deployed"})    # no change_id at all
    assert sorted(pr.changes) == [7, 8]


def test_a_revision_logged_before_issue_21_takes_its_files_categories_and_logs_no_rules() -> None:
    old = {"change_id": 1, "repo": "plant-a-ot", "target": "main", "title": "t", "revision": 1, "fingerprint": "f1",
           "files": [{"path": "b", "categories": ["safety", "recipes"]}, {"path": "a", "categories": ["recipes"]},
                     {"path": "c"}], "state": "pending"}
    pr = feed(projection(), ("change.opened", old))
    c = pr.changes[1]
    assert (c.categories, c.rules, c.rules_source) == (["recipes", "safety"], [], RULES_NOT_LOGGED)
    feed(pr, ("change.revised", {"change_id": 1, "revision": 2, "financial": True}))   # no files: no categories
    assert (c.categories, c.repo, c.target, c.state, c.revision, c.financial) == ([], "plant-a-ot", "main", "pending",
                                                                                  2, False)


def test_rule_sets_are_shared_only_when_exactly_alike() -> None:
    sets: list[Any] = [RULES, [{"count": 1, "group": "ot-engineering-leads"}], [{"count": True, "group": "g"}],
                       [{"count": 1.0, "group": "g"}], [{"count": 1, "group": "g"}], [{"group": "g", "count": 1}],
                       "not a list"]
    pr = feed(projection(), *(("change.opened", opened(i, approvals_required=r)) for i, r in enumerate(sets, 1)))
    c = pr.changes
    assert c[1].rules is c[2].rules and c[1].rules is not RULES   # one shared copy, not the payload's own
    kept = [(repr(c[i].rules), c[i].rules_source) for i in range(1, 8)]
    assert kept == [(repr(r), RULES_FROM_REVISION) for r in sets[:6]] + [("[]", RULES_NOT_LOGGED)]
    assert [register_row(c[i], TS)["approvals_required"] for i in (3, 4, 6)] == [sets[2], sets[3], sets[5]]
    assert repr(register_row(c[3], TS)["approvals_required"]) == "[{'count': True, 'group': 'g'}]"


class Repo(str):
    """A str a JSON decoder never makes: marshal cannot write it, so it is kept as given."""


def test_values_marshal_cannot_write_are_kept_as_given() -> None:
    repo, rules = Repo("plant-a-ot"), [{"count": 1, "group": Repo("g")}]
    pr = feed(projection(), ("change.opened", opened(1)),
              ("change.opened", opened(2, repo=repo, approvals_required=rules)))
    c = pr.changes[2]
    assert c.repo is repo and c.rules == rules and c.rules[0]["group"] is rules[0]["group"]
    assert pr.changes[1].repo == "plant-a-ot" and type(pr.changes[1].repo) is str


def test_a_categories_value_that_is_no_list_fails_as_the_plain_reading_does() -> None:
    with pytest.raises(TypeError, match="'int' object is not iterable"):
        feed(projection(), ("change.opened", opened(1, categories=5)))
    with pytest.raises(AttributeError, match="'list' object has no attribute 'get'"):
        feed(projection(), ("change.opened", [1]))  # type: ignore[arg-type]


def test_a_signature_keeps_what_was_signed_with_its_types() -> None:
    pr = feed(projection(), ("change.opened", opened(1)),
              ("change.approved", signed(1, target="main", ticket="CHG1")),           # issue 22: the ticket recorded
              ("change.approved", signed(1, ticket="CHG1")),                          # before: none (counts for any)
              ("change.rejected", signed(1, signer=True, name=1, group=1.0, decision="reject", memberships=[],
                                         fingerprint="f0", state=5, target="main", ticket="CHG2")))
    s1, s2, s3 = pr.changes[1].signatures
    assert type(s1) is Signed and s1 == Signed(2, TS, 1, "f1", "carol", "Carol Lead", "ot-engineering-leads",
                                               "approve", "Reviewed and approved", "ok",
                                               "ot-engineering-leads (via ot-engineering-leads > x)", "CHG1")
    assert s1.ticket is pr.changes[1].ticket and s2.ticket is None and s1.signer is s2.signer
    assert (s3.signer, s3.name, s3.group, s3.memberships, s3.fingerprint, s3.ticket) == (True, 1, 1.0, "", "f0", "CHG2")
    assert type(s3.name) is int and type(s3.group) is float
    assert pr.changes[1].state == "approved"   # a state that is no string changes nothing


def test_state_transitions_set_and_clear_their_times() -> None:
    pr = projection()
    c = pr.change(1)
    seen = []
    for kind, payload in [("change.opened", opened()), ("change.approved", signed()),
                          ("change.approved", signed()), ("change.revised", {"change_id": 1, "state": "pending"}),
                          ("change.approved", signed()), ("change.deployed", {"change_id": 1, "state": "deployed"}),
                          ("change.withdrawn", {"change_id": 1, "state": "retro-approved"}),
                          ("change.withdrawn", {"change_id": 1, "state": "retro-approved"})]:
        pr.add(pr.last + 1, f"2026-03-02T10:00:0{pr.last}.000000Z", kind, "alice", payload)
        seen.append((c.state, c.approved_at and c.approved_at[18], c.retro_approved_at and c.retro_approved_at[18]))
    assert seen == [("pending", None, None), ("approved", "1", None), ("approved", "1", None), ("pending", None, None),
                    ("approved", "4", None), ("deployed", "4", None), ("retro-approved", "4", "6"),
                    ("retro-approved", "4", "6")]
    assert (c.deployed_at, c.deployed_by, c.requested_by) == ("2026-03-02T10:00:05.000000Z", "alice", "alice")


def test_add_takes_the_entries_in_order_and_none_after_upto() -> None:
    pr = projection()
    pr.add(5, TS, "change.opened", "alice", opened(1))
    pr.add(1001, TS, "change.opened", "alice", opened(2))   # after upto: not the tables' business
    with pytest.raises(ValueError, match="seq 5 after 5"):
        pr.add(5, TS, "change.opened", "alice", opened(3))
    assert sorted(pr.changes) == [1] and isinstance(pr.changes[1], Change)
