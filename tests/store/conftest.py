"""Store tests run on SQLite and on the real PostgreSQL 15 (tests/support/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gatekeeper.store.db import Store
from tests.support.postgres import db_url, pg_database, pg_server, pg_url  # noqa: F401  (fixtures)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:  # noqa: F811
    s = Store(db_url)
    yield s
    s.dispose()
