"""Change requests (``actions.changes``): a topic push opens and revises a CR, withdrawal asks the one
policy function."""

from __future__ import annotations

import pytest

from gatekeeper.actions import push
from gatekeeper.actions.changes import identify, ticket_findings, withdraw, withdrawal_refused
from gatekeeper.actions.context import Services
from gatekeeper.errors import Conflict, Forbidden
from gatekeeper.policy.people import User
from gatekeeper.policy.rules import ApprovalRule, Category
from gatekeeper.store import changes as q
from tests.actions.test_push import NULL, approve, kinds, payloads, req, topic


def user(services: Services, name: str) -> User:
    found = services.directory.get_user(name)
    assert found is not None
    return found


def state(services: Services, cid: int) -> str:
    with services.store.read() as s:
        cr = q.get(s, cid)
        assert cr is not None
        return cr.state


def test_new_content_reopens_an_approved_change_and_the_same_content_keeps_its_approval(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    approve(services, cid)
    assert state(services, cid) == "approved"
    assert topic(services, "refs/heads/t", ("cfg/a.txt", "A"), head="1" * 40) == cid  # rebased: same content
    assert state(services, cid) == "approved" and payloads(services, "change.revised")[-1]["approvals_kept"] is True
    assert topic(services, "refs/heads/t", ("cfg/a.txt", "A2")) == cid
    assert state(services, cid) == "pending" and payloads(services, "change.revised")[-1]["approvals_kept"] is False


def test_a_push_to_no_protected_target_opens_nothing_and_says_how_to_aim_it(services: Services) -> None:
    body = {"ref": "refs/heads/t", "old": NULL, "new": "1" * 40, "target": "release/*", "changes": []}
    out = push.record_push(services, req([body]))
    assert "target 'release/*' is a pattern; name one branch" in out["messages"][0]
    assert "-o gatekeeper.target=<protected branch>" in out["messages"][0]
    assert "change.opened" not in kinds(services)


def test_withdrawal_by_the_author_or_an_admin_only_and_once(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    with services.store.read() as s:
        cr = q.get(s, cid)
        assert cr is not None
        assert withdrawal_refused(services, cr, user(services, "bob")) is not None
        assert withdrawal_refused(services, cr, user(services, "frank")) is None  # an admin
    with pytest.raises(Forbidden, match=r"only its author \(alice\) or an admin"):
        withdraw(services, cid, user(services, "bob"))
    withdraw(services, cid, user(services, "alice"))
    assert state(services, cid) == "withdrawn"
    assert payloads(services, "change.withdrawn")[0]["reason"] == "withdrawn by its author"
    with pytest.raises(Conflict, match="is withdrawn and cannot be withdrawn"):
        withdraw(services, cid, user(services, "alice"))


def test_the_pusher_is_stored_as_the_directory_spells_them(services: Services) -> None:
    """Issue 23 item 3: resolved once, at the door, to a directory user or an explicit unknown."""
    request, who = identify(services, req([], pusher="ALICE"))
    assert request.pusher == "alice" and who.known and who.name == "alice"
    request, who = identify(services, req([], pusher="nobody"))  # unknown: left as sent, refused later
    assert request.pusher == "nobody" and not who.known and who.name == "nobody"
    request, who = identify(services, req([], pusher=None))
    assert request.pusher is None and not who.known and who.name == ""


def test_a_ticket_finding_blocks_a_change_and_only_warns_on_a_break_glass_one() -> None:
    cats = [Category("erp", ("erp/**",), (ApprovalRule("finance", 1),), ticket="required")]
    [blocking] = ticket_findings(cats, "", emergency=False)
    assert blocking["severity"] == "error" and blocking["code"] == "ticket.missing"
    assert ticket_findings(cats, "", emergency=True)[0]["severity"] == "warning"
    assert ticket_findings(cats, "CHG0001", emergency=False) == []
