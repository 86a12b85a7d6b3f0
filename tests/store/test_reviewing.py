"""What helps people review (``store.reviewing``, issue 25): contents kept once per blob id, the revision
each person last saw of a CR (and the one before it), and sign drafts that expire and are dropped once
signed. Times are passed in, never read from the clock."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import func, select

from gatekeeper.store import reviewing
from gatekeeper.store.db import Store
from gatekeeper.store.reviewing import Draft
from gatekeeper.store.tables import ContentBlob, SignDraft

T0 = 1_800_000_000.0


def blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_contents_are_kept_once_per_blob_id_and_read_back_byte_for_byte(store: Store) -> None:
    text, binary = b"speed = 240\n", bytes(range(256)) * 3
    with store.side_write() as s:
        assert reviewing.save_contents(s, {blob(text): text, blob(binary): binary}) == 2
        assert reviewing.save_contents(s, {}) == 0
    with store.side_write() as s:  # a second push of the same blobs (a rebase, another topic) adds only the new one
        assert reviewing.save_contents(s, {blob(text): text, blob(b"x"): b"x"}) == 1
    with store.read() as s:
        assert s.exec(select(func.count()).select_from(ContentBlob)).one() == 3
        got = reviewing.contents(s, [blob(binary), blob(text), blob(text), "f" * 40])  # unknown id: left out
    assert got == {blob(binary): binary, blob(text): text}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_more_ids_than_one_query_takes_are_saved_and_read_in_chunks(store: Store) -> None:
    many = {blob(b"%d" % i): b"%d" % i for i in range(1_200)}
    with store.side_write() as s:
        assert reviewing.save_contents(s, dict(list(many.items())[:700])) == 700
        assert reviewing.save_contents(s, many) == 500
    with store.read() as s:
        assert reviewing.contents(s, many) == many


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_revision_seen_and_the_one_seen_before_it(store: Store) -> None:
    with store.read() as s:
        assert reviewing.last_seen(s, "carol", 7) is None and reviewing.seen_before(s, "carol", 7, 2) is None
    reviewing.mark_seen(store, "carol", 7, 1, "2027-01-01T10:00:00Z")
    reviewing.mark_seen(store, "carol", 7, 1, "2027-01-01T11:00:00Z")  # the same revision again: nothing moves
    with store.read() as s:
        assert reviewing.last_seen(s, "carol", 7) == 1
        assert reviewing.seen_before(s, "carol", 7, 1) is None   # seen the current one, nothing earlier
        assert reviewing.seen_before(s, "carol", 7, 3) == 1      # revision 3 arrived: compare with 1
    reviewing.mark_seen(store, "carol", 7, 3, "2027-01-02T10:00:00Z")
    with store.read() as s:
        # opening revision 3 keeps 1 as the one seen before it, so "changes since" stays until a newer one
        assert reviewing.last_seen(s, "carol", 7) == 3 and reviewing.seen_before(s, "carol", 7, 3) == 1
        assert reviewing.seen_before(s, "carol", 7, 4) == 3
        assert reviewing.last_seen(s, "gina", 7) is None and reviewing.last_seen(s, "carol", 8) is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_draft_is_replaced_expires_and_is_dropped(store: Store) -> None:
    first = Draft(7, 1, "approve", "Reviewed and approved", "looks right", T0)
    reviewing.save_draft(store, "carol", first)
    later = Draft(7, 2, "reject", "", "line 3 overheats at 250 rpm", T0 + 60)
    reviewing.save_draft(store, "carol", later)   # one draft per person and CR: the newer form wins
    reviewing.save_draft(store, "gina", first)
    with store.read() as s:
        assert reviewing.draft(s, "carol", 7, oldest=T0) == later
        assert reviewing.draft(s, "carol", 7, oldest=T0 + 61) is None   # too old: not offered any more
        assert reviewing.draft(s, "carol", 8, oldest=0) is None
        assert s.exec(select(func.count()).select_from(SignDraft)).one() == 2
        assert "password" not in SignDraft.model_fields
    reviewing.drop_draft(store, "carol", 7)
    with store.read() as s:
        assert reviewing.draft(s, "carol", 7, oldest=0) is None
        assert reviewing.draft(s, "gina", 7, oldest=0) == first   # another person's draft is theirs
