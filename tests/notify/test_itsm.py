"""The ITSM adapter against real HTTP servers serving ServiceNow's and Jira's documented JSON shapes.

No real ServiceNow or Jira instance is reached (README): the shapes are those of the ServiceNow
Table API (``{"result": [...]}`` with display values) and Jira REST v2 (``fields.status.name``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gatekeeper.config import ItsmConfig
from gatekeeper.errors import Conflict, Forbidden
from gatekeeper.itsm import Itsm, ItsmUnavailable, ask, check, require
from gatekeeper.ledger.events import Reason
from tests.support.http_receiver import Receiver, jira, servicenow
from tests.support.plant import free_port

ALLOWED = ("Scheduled", "Implement")


@pytest.fixture
def snow() -> Iterator[tuple[Receiver, dict[str, str], list[tuple[str, str]]]]:
    tickets = {"CHG0000001": "Scheduled", "CHG0000002": "New"}
    notes: list[tuple[str, str]] = []
    r = Receiver(routes=servicenow(tickets, notes, "gk", "snow-pass")).start()
    yield r, tickets, notes
    r.stop()


def snow_cfg(r: Receiver) -> ItsmConfig:
    return ItsmConfig(kind="servicenow", url=r.url, username="gk", password_env="GK_SNOW", allowed_states=ALLOWED,
                      timeout=2)


def test_servicenow_states(snow: tuple[Receiver, dict[str, str], list[tuple[str, str]]],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    r, _, notes = snow
    monkeypatch.setenv("GK_SNOW", "snow-pass")
    cfg = snow_cfg(r)
    assert check(cfg, "CHG0000001") == ("Scheduled", None)
    state, problem = check(cfg, "CHG0000002")
    assert state == "New" and problem == Reason("ticket.state", "change ticket CHG0000002 is New in servicenow; it "
                                                "must be one of: Scheduled, Implement")
    assert check(cfg, "CHG0000009")[1] == Reason("ticket.not_found", "change ticket CHG0000009 was not found in "
                                                                     "servicenow")
    assert check(cfg, "") == (None, None) and check(None, "CHG0000001") == (None, None)
    q = r.requests[0].query
    assert q["sysparm_query"] == ["number=CHG0000001"] and q["sysparm_display_value"] == ["true"]
    Itsm(cfg).note("CHG0000001", "deployed: http://gk/changes/1")
    assert notes == [("CHG0000001", "deployed: http://gk/changes/1")]


@pytest.mark.parametrize("ticket", ["CHG0000002^ORnumber=CHG0000001", "CHG0000001^NQ", "../sys_user", "CHG 1",
                                    "CHG0000001\n"])
def test_a_ticket_cannot_widen_the_query(snow: tuple[Receiver, dict[str, str], list[tuple[str, str]]],
                                         monkeypatch: pytest.MonkeyPatch, ticket: str) -> None:
    r, _, _ = snow
    monkeypatch.setenv("GK_SNOW", "snow-pass")
    state, problem = check(snow_cfg(r), ticket)
    assert state == "not found" and problem is not None
    assert r.requests == []  # refused before any request


def test_jira_with_a_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    comments: list[tuple[str, str]] = []
    r = Receiver(routes=jira({"OPS-12": "Approved", "OPS-13": "In Review"}, comments, "jira-pat")).start()
    try:
        monkeypatch.setenv("GK_JIRA", "jira-pat")
        cfg = ItsmConfig(kind="jira", url=r.url, token_env="GK_JIRA", allowed_states=("Approved",), timeout=2)
        assert check(cfg, "OPS-12") == ("Approved", None)
        review = "change ticket OPS-13 is In Review in jira; it must be one of: Approved"
        assert check(cfg, "OPS-13")[1] == Reason("ticket.state", review)
        assert check(cfg, "OPS-99") == ("not found", Reason("ticket.not_found",
                                                            "change ticket OPS-99 was not found in jira"))
        assert r.requests[0].path == "/rest/api/2/issue/OPS-12" and r.requests[0].query == {"fields": ["status"]}
        Itsm(cfg).note("OPS-12", "deployed")
        assert comments == [("OPS-12", "deployed")]
    finally:
        r.stop()


class _Cr:
    ticket = "CHG0000002"
    ticket_state: str | None = None


def test_unreachable_or_refusing_itsm_fails_closed(snow: tuple[Receiver, dict[str, str], list[tuple[str, str]]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    r, _, _ = snow
    dead = ItsmConfig(kind="servicenow", url=f"http://127.0.0.1:{free_port()}", username="gk", password_env="GK_SNOW",
                      allowed_states=ALLOWED, timeout=1)
    monkeypatch.setenv("GK_SNOW", "snow-pass")
    with pytest.raises(ItsmUnavailable, match=r"unreachable .*fail closed") as err:
        check(dead, "CHG0000001")
    assert err.value.http_status == 503
    monkeypatch.setenv("GK_SNOW", "wrong")
    with pytest.raises(ItsmUnavailable, match=r"refused Gatekeeper's credentials \(HTTP 401\)"):
        check(snow_cfg(r), "CHG0000001")
    monkeypatch.delenv("GK_SNOW")
    with pytest.raises(ItsmUnavailable, match=r"environment variable GK_SNOW .* is not set"):
        check(snow_cfg(r), "CHG0000001")
    monkeypatch.setenv("GK_SNOW", "snow-pass")
    cr = _Cr()
    with pytest.raises(Forbidden, match="is New in servicenow"):
        require(snow_cfg(r), ask(snow_cfg(r), cr.ticket), cr)
    assert cr.ticket_state == "New"
    asked = ask(snow_cfg(r), "CHG0000001")
    with pytest.raises(Conflict, match="changed while signing"):  # a new push changed the ticket meanwhile
        require(snow_cfg(r), asked, cr)
    with pytest.raises(Conflict):
        require(snow_cfg(r), None, cr)
    assert require(None, None, cr) is None


def test_a_server_error_fails_closed() -> None:
    r = Receiver(script=[500], routes={}).start()
    try:
        cfg = ItsmConfig(kind="jira", url=r.url, token_env="GK_J", allowed_states=("Approved",), timeout=1)
        with pytest.raises(ItsmUnavailable, match="HTTP 500"):
            Itsm(cfg, env={"GK_J": "t"}).lookup("OPS-1")
    finally:
        r.stop()


@pytest.mark.parametrize(("kind", "answer", "named"), [
    ("servicenow", [], "the answer is a list, expected an object with 'result'"),
    ("servicenow", {"records": []}, "the answer has no 'result'"),
    ("servicenow", {"result": "CHG0000001"}, "'result' is a string, expected a list"),
    ("servicenow", {"result": ["CHG0000001"]}, "'result[0]' is a string, expected an object"),
    ("servicenow", {"result": [{"state": 3, "sys_id": "x"}]}, "'result[0].state' is a number, expected a string"),
    ("jira", {"key": "OPS-1"}, "the answer has no 'fields'"),
    ("jira", {"fields": {"status": "Approved"}}, "'fields.status' is a string, expected an object"),
    ("jira", {"fields": {"status": {"name": None}}}, "'fields.status.name' is null, expected a string"),
    ("jira", {"fields": {"status": {"name": "Approved"}}, "key": 7}, "'key' is a number, expected a string"),
])
def test_an_answer_of_the_wrong_shape_fails_closed_naming_what(kind: str, answer: object, named: str) -> None:
    path = "/api/now/table/change_request" if kind == "servicenow" else "/rest/api/2/issue/OPS-1"
    r = Receiver(routes={("GET", path): lambda req: (200, answer)}).start()
    try:
        cfg = ItsmConfig(kind=kind, url=r.url, token_env="GK_T", allowed_states=("Approved",), timeout=2)
        with pytest.raises(ItsmUnavailable) as err:
            Itsm(cfg, env={"GK_T": "t"}).lookup("CHG0000001" if kind == "servicenow" else "OPS-1")
        assert err.value.http_status == 503 and err.value.code == "itsm_unavailable"
        assert str(err.value) == (f"the ITSM's answer has an unexpected shape ({named}); change tickets cannot be "
                                  "checked (fail closed)")
    finally:
        r.stop()
