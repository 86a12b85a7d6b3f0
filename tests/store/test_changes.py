"""The gate's path index and deploy-intent queries (store/changes.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from gatekeeper.store import changes as q
from gatekeeper.store import schema
from gatekeeper.store.db import Store
from gatekeeper.store.tables import ChangeRequest, DeployIntent, Revision

NOW = "2026-01-01T00:00:00.000000Z"


def cr(session: object, topic: str, state: str = "pending", emergency: bool = False) -> ChangeRequest:
    c = ChangeRequest(repo="r", topic_ref=topic, target="main", state=state, requested_by="alice", requested_at=NOW,
                      emergency=emergency)
    session.add(c)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return c


def revision(session: object, c: ChangeRequest, number: int, paths: list[str]) -> Revision:
    rev = Revision(change_id=c.id or 0, number=number, fingerprint=f"fp{c.id}-{number}", head="h", base="b",
                   pushed_by="alice", pushed_at=NOW)
    session.add(rev)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    q.index_revision(session, c, rev.id or 0, paths, replaces=number > 1)  # type: ignore[arg-type]
    c.current_revision = number
    return rev


def test_the_index_follows_the_current_revision_and_open_states(store: Store) -> None:
    with store.write() as s:
        a, b, e = cr(s, "a"), cr(s, "b", state="approved"), cr(s, "e", state="emergency", emergency=True)
        revision(s, a, 1, ["x", "y"])
        revision(s, a, 2, ["y", "z"])
        revision(s, b, 1, ["x"])
        revision(s, e, 1, ["x"])
    with store.read() as s:
        found = q.candidates_touching(s, "r", "main", ["x", "nothing"])
        assert [(c.topic_ref, r.number) for c, r in found] == [("b", 1)]
        assert [(c.topic_ref, r.number) for c, r in q.candidates_touching(s, "r", "main", ["y", "z"])] == [("a", 2)]
        assert q.candidates_touching(s, "r", "release/1", ["y"]) == []
        assert q.gate_state(s, [a.id or 0, b.id or 0]) == {a.id: ("pending", 2), b.id: ("approved", 1)}
    with store.write() as s:
        q.unindex(s, b.id or 0)
    with store.read() as s:
        assert q.candidates_touching(s, "r", "main", ["x"]) == []


def test_open_intents_claim_their_crs_and_settled_ones_do_not(store: Store) -> None:
    with store.write() as s:
        for state, cid in (("open", 7), ("confirmed", 8)):
            s.add(DeployIntent(repo="r", ref="refs/heads/main", old="a", new="b", pusher="p", decided_at=NOW,
                               decision_seq=1, state=state, decision=q.dumps({"changes": [{"change_id": cid}]})))
    with store.read() as s:
        assert list(q.claimed(s, "r").keys()) == [7] and q.claimed(s, "other") == {}
        assert [row[1:4] for row in q.open_intents_brief(s, "r")] == [("refs/heads/main", "a", "b")]
        assert q.confirmed_intent(s, "r", "refs/heads/main", "a", "b") is not None


def test_migration_0002_fills_the_index_from_existing_crs(db_url: str) -> None:
    store = Store(db_url, create=False)
    schema.upgrade(store, "0001")
    with store.engine.begin() as conn:
        for cid, state, emergency in ((1, "pending", False), (2, "deployed", False), (3, "emergency", True)):
            conn.execute(text(
                "INSERT INTO change_request (id, repo, topic_ref, target, title, ticket, state, requested_by, "
                "requested_at, categories, financial, current_revision, emergency, updated_at) VALUES "
                f"({cid}, 'r', 't{cid}', 'main', '', '', '{state}', 'a', 'n', '[]', false, 2, "
                f"{'true' if emergency else 'false'}, '')"))
            for number in (1, 2):
                rid = cid * 10 + number
                conn.execute(text("INSERT INTO revision (id, change_id, number, fingerprint, head, base, pushed_by, "
                                  "pushed_at, commits, findings, semantic_diff, sod_findings) VALUES "
                                  f"({rid}, {cid}, {number}, 'f', 'h', 'b', 'a', 'n', '[]', '[]', '[]', '[]')"))
                conn.execute(text("INSERT INTO change_file (revision_id, path, status, old_blob, new_blob, old_mode, "
                                  f"new_mode, categories) VALUES ({rid}, 'p{number}', 'added', 'o', 'n', '0', '1', "
                                  "'[]')"))
    schema.upgrade(store)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT change_id, path, revision_id FROM change_path")).all()
    assert [tuple(r) for r in rows] == [(1, "p2", 12)]
    store.dispose()


def test_a_signature_is_stored_and_read_back_as_the_one_approval_shape(store: Store) -> None:
    """issue 23 item 3: the approval row is written from and read into ``policy.approvals.Signature``,
    every column in its field order (the register reads the first six by position)."""
    from gatekeeper.policy.approvals import Signature

    with store.write() as s:
        c = cr(s, "sig")
        given = [Signature("carol", "leads", "Approved for production", NOW, "f" * 64, "OT-1", "approve", 1, "ok",
                           "Carol Lead", "Raise rpm", "main", 7, c.id or 0, '[{"group":"leads"}]'),
                 Signature("bob", "finance", "Reviewed and rejected", NOW, "f" * 64, None, "reject", 1, "no",
                           "Bob", None, None, 8, c.id or 0)]
        for g in given:
            q.add_signature(s, g)
    with store.read() as s:
        assert q.approvals(s, c.id or 0) == given
        assert q.approvals_by_change(s, [c.id or 0, 999]) == {c.id or 0: given, 999: []}


def test_a_repo_row_is_added_once_and_a_rolled_back_one_is_added_again(store: Store) -> None:
    class Undo(Exception):
        pass

    try:
        with store.write() as s:
            q.ensure_repo(s, "plant", "t1")
            raise Undo
    except Undo:
        pass
    for at in ("t2", "t3", "t4"):  # the rolled-back row is not remembered; the committed one is, once seen
        with store.write() as s:
            q.ensure_repo(s, "plant", at)
    with store.read() as s:
        rows = s.connection().execute(text("SELECT name, created_at FROM repo")).all()
    assert [tuple(r) for r in rows] == [("plant", "t2")]
