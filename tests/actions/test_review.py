"""A CR's facts gathered once (``actions.review``): people of every revision resolved through the
directory now, commit emails matched to users, only approvals of the current content given."""

from __future__ import annotations

from typing import Any

from gatekeeper.actions import push
from gatekeeper.actions import review as rv
from gatekeeper.actions.context import Services
from gatekeeper.store import changes as q
from tests.actions.test_push import NULL, approve, change, req, sha


def commit(author: str, co_authors: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"sha": sha(author), "author_name": author, "author_email": author, "committer_name": author,
            "committer_email": author, "subject": "change", "co_authors": list(co_authors)}


def open_cr(services: Services, pusher: str, content: str, *commits: dict[str, Any]) -> int:
    body = {"ref": "refs/heads/t", "old": NULL, "new": sha(content), "target": "main", "base": "a" * 40,
            "changes": [change("cfg/a.txt", content)], "commits": list(commits)}
    out = push.record_push(services, req([body], pusher=pusher))
    return int(next(m for m in out["messages"] if "change request" in m).split("change request ")[1].split(" ")[0])


def test_people_of_every_revision_resolved_once_to_a_user_or_an_explicit_unknown(services: Services) -> None:
    """Issue 23 item 3: pushers are stored in the directory's spelling at the door; every person is a
    directory user or an explicit unknown, never a sentinel, and is not re-canonicalised on read."""
    cid = open_cr(services, "ALICE", "A", commit("Alice@Plant.Example", ("ghost@ext.example",)))
    open_cr(services, "erin", "B", commit("erin@plant.example"))
    with services.store.read() as s:
        cr = q.get(s, cid)
        assert cr is not None
        people = {(p.role, p.who.name, p.who.known) for p in rv.people_of(services, s, cr)}
        assert {("pusher", "alice", True), ("pusher", "erin", True), ("author", "alice", True),
                ("committer", "erin", True), ("co-author", "ghost@ext.example", False)} <= people
        assert all(name for _, name, _ in people)  # no "(unknown)", no empty name
        facts = rv.facts(services, s, cr)
    assert facts.revision == 2 and facts.rules[0].group == "ot-engineering-leads"
    assert [r.code for r in facts.visible] == ["sod.unknown_co_author"]  # ghost is shown to approvers


def test_only_approvals_of_the_current_content_are_given(services: Services) -> None:
    cid = open_cr(services, "alice", "A")
    approve(services, cid, "carol")
    with services.store.read() as s:
        cr = q.get(s, cid)
        assert cr is not None
        assert [a.username for a in rv.facts(services, s, cr).given] == ["carol"]
        assert rv.review(services, s, cr).complete
    open_cr(services, "alice", "A2")  # new content: carol's approval was for the old fingerprint
    with services.store.read() as s:
        cr = q.get(s, cid)
        assert cr is not None
        current = rv.review(services, s, cr)
        assert current.facts.given == () and current.missing == (("ot-engineering-leads", 1),)
        carol = services.directory.get_user("carol")
        assert carol is not None and rv.signing(services, s, cr, carol, current).may_approve
        assert rv.meanings_of(services, cr) == ["Reviewed and approved"]
