"""Alembic migrations build the whole schema and its triggers, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from gatekeeper.errors import ServiceUnavailable
from gatekeeper.ledger import events as ev
from gatekeeper.store import log, schema
from gatekeeper.store.db import Store
from tests.support.postgres import PgServer

ROOT = Path(__file__).parents[2]


def triggers(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        if store.is_sqlite:
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = conn.execute(text("SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                                     "WHERE c.relname = 'change_log' AND NOT t.tgisinternal "
                                     "AND c.relnamespace = current_schema()::regnamespace"))
        return {r[0] for r in rows}


def test_upgrade_builds_every_table_and_the_triggers(store: Store) -> None:
    assert schema.is_current(store)
    names = set(inspect(store.engine).get_table_names())
    assert set(SQLModel.metadata.tables) | {"alembic_version"} <= names
    expected = ({"change_log_no_update", "change_log_no_delete", "merkle_node_no_update", "merkle_node_no_delete",
                 "witness_cosignature_no_update", "witness_cosignature_no_delete"} if store.is_sqlite
                else {"change_log_no_update_delete", "change_log_no_truncate"})
    assert triggers(store) == expected


def test_migrations_match_the_models(store: Store) -> None:
    """Someone changing store/tables.py without a migration fails here."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), SQLModel.metadata)
    assert diff == []


def test_upgrade_again_is_a_no_op(store: Store) -> None:
    with store.write() as s:
        log.append(s, ev.ChangeOpened(), "alice")
    assert schema.upgrade(store) == schema.head_revision()
    Store(store.url).dispose()
    with store.read() as s:
        assert [e.seq for e in log.entries(s)] == [1]


def test_downgrade_and_upgrade_round_trip(store: Store) -> None:
    assert schema.downgrade(store, "base") == "base"
    assert not set(SQLModel.metadata.tables) & set(inspect(store.engine).get_table_names())
    assert schema.upgrade(store) == schema.head_revision()
    assert triggers(store)


def test_a_skeleton_database_is_adopted(db_url: str) -> None:
    """Made by the walking skeleton's create_all (no alembic_version): kept, data and all, and stamped."""
    store = Store(db_url, create=False)
    skeleton = ("change_log", "change_log_ref", "change_request", "repo", "setting", "approval", "deployment",
                "revision", "change_file")  # the tables the skeleton had (0001's); later ones come by migration
    SQLModel.metadata.create_all(store.engine, tables=[SQLModel.metadata.tables[t] for t in skeleton])
    with store.write() as s:
        log.append(s, ev.ChangeOpened(title="before migrations"), "alice")
    store.create_schema()
    with store.engine.connect() as conn:
        assert schema.current_revision(conn) == schema.head_revision()
    with store.read() as s:
        assert [ev.ChangeOpened.from_payload(e.payload).title for e in log.entries(s)] == ["before migrations"]
    store.dispose()


UPGRADER = """
import sys
from gatekeeper.store.db import Store
Store(sys.argv[1]).dispose()
"""


def test_workers_starting_together_migrate_once(db_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", UPGRADER, db_url], env=env, stderr=subprocess.PIPE)
             for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    store = Store(db_url, create=False)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1
    store.dispose()


@pytest.fixture
def roles(pg_server: PgServer, pg_database: str) -> Iterator[tuple[str, str, str]]:
    """An owner role and a service role (docs/postgresql.md), and a schema the owner owns."""
    tag = secrets.token_hex(4)
    owner, service, name = f"gk_owner_{tag}", f"gk_service_{tag}", f"gk_{tag}"
    for role in (owner, service):
        pg_server.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{tag}'")
    pg_server.execute(f"CREATE SCHEMA {name} AUTHORIZATION {owner}", pg_database)
    yield owner, service, name
    pg_server.execute(f"DROP SCHEMA {name} CASCADE", pg_database)
    for role in (owner, service):
        pg_server.execute(f"DROP OWNED BY {role} CASCADE", pg_database)
        pg_server.execute(f"DROP ROLE {role}")


def _url(server: PgServer, database: str, role: str, name: str) -> str:
    tag = role.rsplit("_", 1)[1]
    return PgServer(server.host, server.port, role, tag).url(database, name)


@pytest.mark.postgres
def test_least_privilege_service_role(pg_server: PgServer, pg_database: str, roles: tuple[str, str, str]) -> None:
    owner, service, name = roles
    owner_store = Store(_url(pg_server, pg_database, owner, name))  # the owner migrates
    with owner_store.engine.begin() as conn:
        for stmt in schema.service_grants(service, name):
            conn.exec_driver_sql(stmt)
    svc = Store(_url(pg_server, pg_database, service, name))  # schema current: starts without DDL rights
    with svc.write() as s:
        log.append(s, ev.ChangeOpened(change_id=1), "alice", [1])
    for stmt in ("UPDATE change_log SET actor = 'x'", "DELETE FROM change_log", "TRUNCATE change_log",
                 "DROP TRIGGER change_log_no_update_delete ON change_log",
                 "ALTER TABLE change_log DISABLE TRIGGER ALL", "CREATE TABLE sneaky (x int)"):
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner"), svc.engine.begin() as conn:
            conn.exec_driver_sql(stmt)
    with owner_store.engine.begin() as conn:  # the schema falls behind: only the owner may fix that
        conn.exec_driver_sql("DELETE FROM alembic_version")
    with pytest.raises(ServiceUnavailable, match="as the role that owns the schema"):
        Store(svc.url)
    svc.dispose()
    owner_store.dispose()


def test_0012_stores_one_spelling_per_person_and_tickets_per_revision(store: Store) -> None:
    """Issues 22 and 23: names stored before canonical names existed become the newest spelling of that
    person, the sentinel "(unknown)" becomes the empty name; revisions keep their CR's ticket."""
    schema.downgrade(store, "base")
    schema.upgrade(store, "0011")
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO change_request (id, repo, topic_ref, target, title, ticket, state, "
                          "requested_by, requested_at, updated_at, emergency, financial, current_revision, "
                          "categories) VALUES (1, 'r', 'refs/heads/t', 'main', 't', 'CHG-1', 'pending', 'Carol', "
                          "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', false, false, 2, '[]')"))
        for n, who, at in ((1, "Carol", "2026-01-01T00:00:00Z"), (2, "carol", "2026-02-01T00:00:00Z")):
            conn.execute(text("INSERT INTO revision (change_id, number, fingerprint, head, base, pushed_by, "
                              "pushed_at, commits, findings, semantic_diff, sod_findings) VALUES (1, :n, 'f', 'h', "
                              "'b', :who, :at, '[]', '[]', '[]', '[]')"), {"n": n, "who": who, "at": at})
        conn.execute(text("INSERT INTO deploy_intent (repo, ref, old, new, pusher, decided_at, decision_seq, "
                          "emergency, decision, state) VALUES ('r', 'refs/heads/main', 'a', 'b', '(unknown)', "
                          "'2026-01-01', 1, false, '{}', 'open')"))
    assert schema.upgrade(store) == schema.head_revision()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT requested_by FROM change_request")).scalar_one() == "carol"
        assert conn.execute(text("SELECT pushed_by, ticket FROM revision ORDER BY number")).all() == [
            ("carol", "CHG-1"), ("carol", "CHG-1")]
        assert conn.execute(text("SELECT pusher FROM deploy_intent")).scalar_one() == ""
