"""The facts ``policy.status`` decides from, gathered from the store (``actions.status``): stored blockers,
the latest rejection, the withdrawal's log entry and a newer CR on the same topic branch, for a page of
CRs at once or for one CR from its full review."""

from __future__ import annotations

from gatekeeper.actions import push, review
from gatekeeper.actions.changes import withdraw
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import SignRequest
from gatekeeper.actions.signing import sign
from gatekeeper.actions.status import gather, of_change, statuses
from gatekeeper.policy.people import User
from gatekeeper.policy.status import Next, Standing
from gatekeeper.store import changes as q
from gatekeeper.store.tables import ChangeRequest
from tests.actions.test_push import MAIN_OLD, NULL, approve, change, main_update, req, sha, topic


def user(services: Services, name: str) -> User:
    found = services.directory.get_user(name)
    assert found is not None
    return found


def by_bob(services: Services, ref: str, path: str, content: str) -> int:
    """A topic push by bob, who is in no authors group of ``cfg/``: the CR opens blocked."""
    body = {"ref": ref, "old": NULL, "new": sha(ref), "target": "main", "base": MAIN_OLD,
            "changes": [change(path, content)]}
    out = push.record_push(services, req([body], pusher="bob"))
    opened = next(m for m in out["messages"] if "change request" in m)
    return int(opened.split("change request ")[1].split(" ")[0])


def crs(services: Services, *ids: int) -> list[ChangeRequest]:
    with services.store.read() as s:
        found = [q.get(s, i) for i in ids]
    assert all(found)
    return [cr for cr in found if cr is not None]


def test_a_page_of_crs_gets_each_one_s_facts(services: Services) -> None:
    waiting = topic(services, "refs/heads/w", ("cfg/w.txt", "W"))
    blocked = by_bob(services, "refs/heads/b", "cfg/b.txt", "B")
    rejected = topic(services, "refs/heads/r", ("cfg/r.txt", "R"))
    sign(services, rejected, user(services, "carol"), SignRequest(decision="reject", comment="wrong setpoint"))
    withdrawn = topic(services, "refs/heads/x", ("cfg/x.txt", "X"))
    withdraw(services, withdrawn, user(services, "alice"), reason="not needed after all")
    with services.store.read() as s:
        facts = gather(s, crs(services, waiting, blocked, rejected, withdrawn))
        got = statuses(s, crs(services, waiting, blocked, rejected, withdrawn))
        assert gather(s, []) == {} and statuses(s, []) == {}
    assert facts[waiting].blockers == () and facts[waiting].topic == "w" and facts[waiting].target == "main"
    assert got[waiting].standing == Standing.WAITING and got[waiting].next == Next.SIGN
    assert [r.code for r in facts[blocked].blockers] == ["sod.unauthorized_author"]
    assert got[blocked].standing == Standing.BLOCKED and got[blocked].needs_author
    rejection = facts[rejected].rejection
    assert rejection is not None and (rejection.username, rejection.comment) == ("carol", "wrong setpoint")
    assert got[rejected].standing == Standing.REJECTED and got[rejected].next == Next.PUSH_OR_WITHDRAW
    withdrawal = facts[withdrawn].withdrawal
    assert withdrawal is not None and (withdrawal.actor, withdrawal.reason) == ("alice", "not needed after all")
    assert got[withdrawn].standing == Standing.WITHDRAWN
    assert not any(facts[i].superseded_by or (i != rejected and facts[i].rejection) for i in facts)


def test_only_a_rejection_of_the_current_revision_counts(services: Services) -> None:
    cid = topic(services, "refs/heads/r", ("cfg/r.txt", "R"))
    sign(services, cid, user(services, "carol"), SignRequest(decision="reject", comment="wrong setpoint"))
    assert topic(services, "refs/heads/r", ("cfg/r.txt", "R2")) == cid  # the new push reopens it
    with services.store.read() as s:
        [facts] = gather(s, crs(services, cid)).values()
    assert facts.state == "pending" and facts.rejection is None
    sign(services, cid, user(services, "gina"), SignRequest(decision="reject", comment="still too fast"))
    with services.store.read() as s:
        [facts] = gather(s, crs(services, cid)).values()
    assert facts.rejection is not None and (facts.rejection.username, facts.rejection.comment) == (
        "gina", "still too fast")   # revision 2's rejection, not carol's of revision 1


def test_a_cr_a_newer_one_continues_is_superseded(services: Services) -> None:
    old = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, old)
    push.decide_push(services, req([main_update(("cfg/a.txt", "A"))]))   # being deployed: not revised any more
    new = topic(services, "refs/heads/t", ("cfg/a.txt", "B"))
    other = topic(services, "refs/heads/u", ("cfg/u.txt", "U"))
    assert new != old
    with services.store.read() as s:
        facts = gather(s, crs(services, old, new, other))
        got = statuses(s, crs(services, old))
    assert facts[old].superseded_by == new and facts[new].superseded_by is None and facts[other].superseded_by is None
    assert got[old].standing == Standing.SUPERSEDED and got[old].next == Next.USE_NEWER


def test_the_change_page_takes_its_blockers_from_the_review_now(services: Services) -> None:
    cid = by_bob(services, "refs/heads/b", "cfg/b.txt", "B")
    [cr] = crs(services, cid)
    with services.store.read() as s:
        current = review.review(services, s, cr)
        page = of_change(s, cr, current)
        listed = statuses(s, [cr])[cid]
    assert page.standing == Standing.BLOCKED and page.causes == listed.causes   # the page and a list agree
