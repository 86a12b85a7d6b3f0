"""The tables (``store.tables``): the constraints the use cases rely on are the database's, so a
second worker (or a bug) cannot store a second revision 1, a second delivery of one event, a second
cosignature, or a path index row of a CR that does not exist."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from gatekeeper.store.db import Store
from gatekeeper.store.tables import ChangePath, ChangeRequest, NotifyOutbox, Revision, WitnessCosignature

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # both dialects: test_schema.py

TS = "2026-12-01T10:00:00.000000Z"


def cr(s: Session) -> int:
    row = ChangeRequest(repo="plant-a-ot", topic_ref="refs/heads/cr/x", target="main", state="pending",
                        requested_by="alice", requested_at=TS)
    s.add(row)
    s.flush()
    assert row.id is not None
    return row.id


def revision(change_id: int) -> Revision:
    return Revision(change_id=change_id, number=1, fingerprint="f" * 64, head="h" * 40, base="b" * 40,
                    pushed_by="alice", pushed_at=TS)


def delivery(target: str) -> NotifyOutbox:
    return NotifyOutbox(event_key="seq:1", event="push.refused", channel="webhook", target=target, next_at=TS,
                        created_at=TS)


CASES: dict[str, Callable[[int], list[SQLModel]]] = {
    "revision number per CR": lambda cid: [revision(cid), revision(cid)],
    "one delivery per event, channel, target": lambda cid: [delivery("soc"), delivery("soc")],
    "one cosignature per size and witness": lambda cid: [
        WitnessCosignature(size=8, witness="w1", line="— w1 x", received_at=TS),
        WitnessCosignature(size=8, witness="w1", line="— w1 y", received_at=TS)],
    "a path row needs its CR": lambda cid: [ChangePath(change_id=cid + 1, path="a", repo="r", target="main",
                                                       revision_id=1)],
}


@pytest.mark.parametrize("case", CASES)
def test_the_database_refuses_what_the_use_cases_never_write(store: Store, case: str) -> None:
    with store.write() as s:
        cid = cr(s)
    with pytest.raises(IntegrityError), store.write() as s:
        for row in CASES[case](cid):
            s.add(row)
        s.flush()


def test_the_allowed_neighbours_of_those_rows_are_stored(store: Store) -> None:
    with store.write() as s:
        cid = cr(s)
        s.add_all([revision(cid), delivery("soc"), delivery("ops"),
                   WitnessCosignature(size=8, witness="w1", line="l", received_at=TS),
                   WitnessCosignature(size=8, witness="w2", line="l", received_at=TS),
                   ChangePath(change_id=cid, path="a", repo="r", target="main", revision_id=1)])
        second = revision(cid)
        second.number = 2
        s.add(second)
    with store.read() as s:
        stored = s.get(ChangeRequest, cid)
        assert stored is not None and stored.categories == "[]" and stored.current_revision == 0
