"""The projection of the signed log equals the database's register, signatures and exceptions for a
real history (tests/audit/conftest.py): every fact the register shows is in the log (issue 21)."""

from __future__ import annotations

import json

from gatekeeper.actions.context import Services
from gatekeeper.audit import exceptions, register
from gatekeeper.store import log
from gatekeeper.verifier.projection import Params, project
from gatekeeper.verifier.tables import APPROVAL_COLUMNS, EXCEPTION_COLUMNS, REGISTER_COLUMNS, cells
from tests.audit.conftest import World, period

NOW = "2999-12-31T00:00:00.000000Z"


def test_the_projection_of_the_log_is_the_database_register(world: World, services: Services) -> None:
    start, end = period()
    with services.store.read() as s:
        rows = list(log.rows(s))
        tables = project(Params(start, end, NOW, len(rows)),
                         ((r[0], r[1], r[2], r[3], json.loads(r[4]), r[4].encode()) for r in rows))
        db_rows = list(register.rows(services, start, end, now=NOW, session=s))
        db_approvals = list(register.approval_rows(services, start, end, session=s))
        db_exceptions = list(exceptions.exception_rows(s, start, end, NOW))
    assert [cells(r, REGISTER_COLUMNS) for r in tables.register()] == [cells(r, REGISTER_COLUMNS) for r in db_rows]
    projected = [cells(r, APPROVAL_COLUMNS) for r in tables.approvals()]
    assert projected == [cells(r, APPROVAL_COLUMNS) for r in db_approvals]
    tally_rows = [e for e in tables.exceptions if e["kind"] != "incomplete-approvals"]
    assert [cells(e, EXCEPTION_COLUMNS) for e in tally_rows] == [cells(e, EXCEPTION_COLUMNS) for e in db_exceptions]
