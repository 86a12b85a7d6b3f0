"""The real PostgreSQL 15 for tests: the system cluster, a throwaway database per test module.

CI runs as root and ``initdb`` refuses root, so the Debian cluster ``15 main`` is started with
``pg_ctlcluster`` and administered through ``runuser -u postgres -- psql``; tests connect over TCP
as a superuser role made here. Set ``GATEKEEPER_TEST_PG_URL`` (a superuser's
``postgresql+psycopg://`` URL) to use another server. A server that cannot be reached fails the
test with a message naming the apt package; it is never skipped.

Use from a conftest: ``from tests.support.postgres import pg_server, pg_database, pg_url`` (and
``db_url`` for tests that run on both SQLite and PostgreSQL).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest

PG_PACKAGE = "postgresql-15"
CLUSTER = ("15", "main")
ROLE_PREFIX = "gk_test_"  # one superuser role per session, so parallel sessions never share a password
HOW = (f"PostgreSQL 15 is needed for these tests: apt-get install {PG_PACKAGE} (the tests start the cluster "
       "with `pg_ctlcluster 15 main start`), or set GATEKEEPER_TEST_PG_URL to a superuser URL")


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str, schema: str | None = None) -> str:
        url = f"postgresql+psycopg://{quote(self.user)}:{quote(self.password)}@{self.host}:{self.port}/{database}"
        return url + (f"?options=-csearch_path%3D{schema}" if schema else "")

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                             dbname=database, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


def psql(sql: str, database: str = "postgres") -> str:
    """``psql`` as the ``postgres`` OS user (peer authentication over the local socket)."""
    proc = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-At",
                           "-d", database, "-c", sql], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"psql exited {proc.returncode}")
    return proc.stdout.strip()


def _cluster_port() -> int:
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if tuple(parts[:2]) == CLUSTER:
            return int(parts[2])
    pytest.fail(f"no PostgreSQL cluster {' '.join(CLUSTER)} found by pg_lsclusters. {HOW}")


def ensure_cluster() -> int:
    """Start the system cluster if it is down; its port."""
    if shutil.which("pg_ctlcluster") is None or shutil.which("runuser") is None:
        pytest.fail(f"pg_ctlcluster/runuser not found. {HOW}")
    if os.geteuid() != 0:
        pytest.fail(f"the tests administer the system cluster as root (runuser -u postgres). {HOW}")
    port = _cluster_port()
    deadline = time.monotonic() + 30
    started = False
    while True:
        try:
            psql("SELECT 1")
            return port
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            if not started:
                subprocess.run(["pg_ctlcluster", *CLUSTER, "start"], capture_output=True, timeout=60)
                started = True
            elif time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL cluster 15/main does not answer ({exc}). {HOW}")
            time.sleep(0.3)


def start_server() -> PgServer:
    """A fresh superuser role on the running cluster (or GATEKEEPER_TEST_PG_URL); ``stop_server`` drops it."""
    override = os.environ.get("GATEKEEPER_TEST_PG_URL")
    if override:
        m = re.match(r"postgresql(?:\+psycopg)?://([^:@/]+):([^@/]*)@([^:/]+):?(\d*)/", override)
        if not m:
            pytest.fail("GATEKEEPER_TEST_PG_URL must look like postgresql+psycopg://user:password@host:port/db")
        return PgServer(m.group(3), int(m.group(4) or 5432), m.group(1), m.group(2))
    port = ensure_cluster()
    role, password = ROLE_PREFIX + secrets.token_hex(4), secrets.token_hex(16)
    psql(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'")
    server = PgServer("127.0.0.1", port, role, password)
    try:
        server.execute("SELECT 1")
    except Exception as exc:
        pytest.fail(f"cannot log in to PostgreSQL on 127.0.0.1:{port} as {role}: {exc}. {HOW}")
    return server


def stop_server(server: PgServer) -> None:
    """Drop the session's role (its databases are dropped by then)."""
    if server.user.startswith(ROLE_PREFIX) and not os.environ.get("GATEKEEPER_TEST_PG_URL"):
        psql(f"DROP ROLE IF EXISTS {server.user}")


def create_database(server: PgServer, label: str) -> str:
    """A fresh database named after ``label``; its name."""
    name = "gk_" + re.sub(r"[^a-z0-9]+", "_", label.lower())[-30:].strip("_") + "_" + secrets.token_hex(4)
    server.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    return name


def drop_database(server: PgServer, name: str) -> None:
    server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_server()
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def pg_database(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A throwaway database for the test module, dropped after it."""
    name = create_database(pg_server, request.module.__name__.rsplit(".", 1)[-1])
    yield name
    drop_database(pg_server, name)


@pytest.fixture
def pg_url(pg_server: PgServer, pg_database: str) -> str:
    """An empty schema of the module's database for this test: a URL whose search_path is that schema."""
    schema = "t_" + secrets.token_hex(6)
    pg_server.execute(f"CREATE SCHEMA {schema}", pg_database)
    return pg_server.url(pg_database, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database: a SQLite file, or a fresh schema in the module's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/gatekeeper.db"
    return str(request.getfixturevalue("pg_url"))
