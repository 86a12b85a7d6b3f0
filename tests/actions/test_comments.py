"""The discussion of a change request (``actions.comments``): each comment is a ``change.commented`` log
entry, one thread for the change and one per file of it, read back from the log."""

from __future__ import annotations

import pytest

from gatekeeper.actions import comments
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import SignRequest
from gatekeeper.actions.signing import sign
from gatekeeper.errors import InputError, NotFound
from gatekeeper.policy.people import User
from tests.actions.test_push import kinds, payloads, topic


def user(services: Services, name: str) -> User:
    found = services.directory.get_user(name)
    assert found is not None
    return found


def test_comments_are_logged_threaded_and_their_people_are_the_participants(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"), ("cfg/b.txt", "B"))
    first = comments.add(services, cid, user(services, "carol"), "  Why 250 rpm?  ")
    on_file = comments.add(services, cid, user(services, "alice"), "the vendor's limit", path="cfg/a.txt")
    assert (first.text, first.path, first.revision, first.name) == ("Why 250 rpm?", None, 1, "Carol Lead")
    assert comments.add(services, cid, user(services, "carol"), "ok", path="").path is None  # empty: the change
    assert kinds(services)[-3:] == ["change.commented"] * 3
    logged = payloads(services, "change.commented")[1]
    assert (logged["commenter"], logged["path"], logged["comment"]) == ("alice", "cfg/a.txt", "the vendor's limit")
    sign(services, cid, user(services, "gina"), SignRequest(decision="approve", meaning="Reviewed and approved"))
    other = topic(services, "refs/heads/u", ("cfg/c.txt", "C"))
    with services.store.read() as s:
        thread = comments.thread(s, cid)
        assert [c.seq for c in thread] == sorted(c.seq for c in thread) and thread[:2] == [first, on_file]
        assert comments.participants(s, cid) == ["gina", "carol", "alice"]  # signers, then commenters, once each
        assert comments.files_of(s, cid) == {"cfg/a.txt", "cfg/b.txt"}
        assert comments.thread(s, other) == [] and comments.participants(s, other) == []


def test_a_bad_comment_is_refused_and_nothing_is_logged(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))
    before = kinds(services)
    carol = user(services, "carol")
    with pytest.raises(InputError, match="the comment is empty"):
        comments.add(services, cid, carol, " \n\t ")
    with pytest.raises(InputError, match="at most 4000 fit"):
        comments.add(services, cid, carol, "x" * (comments.MAX_COMMENT + 1))
    with pytest.raises(InputError, match=f"'cfg/other.txt' is not a file of change request {cid}"):
        comments.add(services, cid, carol, "what about this?", path="cfg/other.txt")
    with pytest.raises(NotFound):
        comments.add(services, cid + 100, carol, "hello")
    assert kinds(services) == before


def test_a_file_a_later_revision_dropped_can_still_be_discussed(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"), ("cfg/old.txt", "O"))
    assert topic(services, "refs/heads/t", ("cfg/a.txt", "A2")) == cid   # revision 2 no longer touches old.txt
    c = comments.add(services, cid, user(services, "carol"), "why was this dropped?", path="cfg/old.txt")
    assert c.revision == 2 and c.path == "cfg/old.txt"


def test_a_file_s_anchor_is_stable_and_safe_in_a_url() -> None:
    anchor = comments.file_anchor("recipes/mix <1>.xml")
    assert anchor == comments.file_anchor("recipes/mix <1>.xml") != comments.file_anchor("recipes/mix <2>.xml")
    assert anchor.startswith("file-") and anchor[5:].isalnum() and len(anchor) == 17
