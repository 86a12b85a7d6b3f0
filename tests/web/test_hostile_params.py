"""Hostile input (issue 22 item 10): every date and period parameter gives a 400 naming the parameter,
and no query parameter of any endpoint (taken from the Flask url_map, so a new endpoint is covered
the day it is added) gives a 5xx. Request bodies are schemathesis's (tests/e2e/test_api_contract.py)."""

from __future__ import annotations

import base64
import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from tests.support.plant import password
from tests.web.conftest import login

API_PERIODS = ["/api/v1/audit/register", "/api/v1/audit/evidence", "/api/v1/audit/metrics"]
PAGE_PERIODS = ["/changes", "/audit", "/audit/register", "/audit/report", "/audit/evidence"]
SKIPPED = {"static", "pages_auth.logout"}  # a file server; signing out would end the examples' session

DATE_EDGES = ["9999-12-31", "0001-01-01", "0000-01-01", "2026-01-01\n", "2026-01-01\r\nX-Injected: 1", "2026-13-45",
              "2026-02-30", "1969-12-31", "3000-01-01", "２０２６-01-01", "2026-01-01T25:00:00Z",
              "9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00+01:00", "2026-05-01", "2026-05-31",
              "2026-05-01T08:00:00Z", " 2026-05-01", "x" * 5000]
HOSTILE = ["99999999999999999999", "-1", "0", "", " ", "\x00", "\x1b[2J", "%", "../../etc/passwd", "csv", "json",
           "xlsx", "pending", "plant-a-ot", "recipes", "1", "x" * 5000]
others = st.one_of(st.sampled_from(HOSTILE), st.integers().map(str), st.text(max_size=30))
dates = st.one_of(st.sampled_from(DATE_EDGES), st.dates(min_value=date(1, 1, 1)).map(str), st.text(max_size=30))
DATE_NAMES = ["from", "to", "period", "since", "until"]
NAMES = ["page", "before", "after", "change", "limit", "format", "state", "repo", "category", "kind", "verify",
         "undecided", "financial", "next", "seq", "lang"]
queries = st.fixed_dictionaries({"from": dates, "to": dates},
                                optional={**dict.fromkeys(DATE_NAMES[2:], dates), **dict.fromkeys(NAMES, others)})


def basic(user: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password(user)}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def page_client(app: Flask, user: str) -> FlaskClient:
    client = app.test_client()
    login(client, user)
    return client


@pytest.mark.parametrize("path", API_PERIODS)
@pytest.mark.parametrize(("query", "named"), [
    ({"from": "2026-01-01", "to": "9999-12-31"}, "to '9999-12-31': out of range"),
    ({"from": "2026-01-01\n", "to": "2026-02-01"}, "from '2026-01-01\\n'"),
    ({"from": "2026-01-01", "to": "２０２６-02-01"}, "to '２０２６-02-01'"),
])
def test_api_period_parameters_answer_400_naming_the_parameter(client: FlaskClient, path: str,
                                                              query: dict[str, str], named: str) -> None:
    resp = client.get(path, query_string=query, headers=basic("dave"))
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert named in resp.get_json()["error"]["message"]


@pytest.mark.parametrize("path", PAGE_PERIODS)
def test_page_period_parameters_answer_400_naming_the_parameter(app: Flask, path: str) -> None:
    client = page_client(app, "dave")
    for query, named in (({"from": "2026-01-01", "to": "9999-12-31"}, "9999-12-31"),
                         ({"from": "2026-01-01\n", "to": "2026-02-01"}, "From")):
        resp = client.get(path, query_string=query)
        assert resp.status_code == 400, (path, query)
        text = resp.get_data(as_text=True)
        assert named in text, (path, query, text[:2000])


@pytest.mark.parametrize(("path", "query"), [
    ("/log", {"before": "²"}), ("/changes", {"page": "³"}), ("/changes", {"q": "#²"}), ("/access", {"page": "²"}),
])
def test_a_digit_int_cannot_read_is_no_server_error(app: Flask, path: str, query: dict[str, str]) -> None:
    """``"²".isdigit()`` is True but ``int("²")`` fails: numbers are read with ``isdecimal`` (found by the
    property test below)."""
    resp = page_client(app, "dave").get(path, query_string=query)
    assert resp.status_code < 500, (path, query)


def who(rule: str) -> str:
    """Someone the endpoint serves, so the parameters are read rather than refused with a 403."""
    return "dave" if "audit" in rule or "log" in rule else "frank" if "access" in rule or "admin" in rule else "carol"


def probe(app: Flask, clients: dict[str, FlaskClient], rule: Rule) -> None:
    """A few hypothesis examples of one endpoint's path and query parameters; never a 5xx."""
    user = who(rule.rule)

    @settings(max_examples=6, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=st.data())
    def examples(data: st.DataObject) -> None:
        path = rule.rule
        for name in sorted(rule.arguments):
            numeric = "Int" in type(rule._converters[name]).__name__
            value = data.draw(st.integers(min_value=1, max_value=10**30) if numeric
                              else st.text(min_size=1, max_size=20).filter(lambda t: "/" not in t), label=name)
            path = re.sub(rf"<(?:[^:>]+:)?{name}>", lambda _m, v=str(value): v, path)
        query = data.draw(queries, label="query")
        if path.startswith("/api/"):
            resp = app.test_client().get(path, query_string=query, headers=basic(user))
        else:
            resp = clients[user].get(path, query_string=query)
        assert resp.status_code < 500, (path, query, user, resp.get_data(as_text=True)[:500])

    examples()


def test_no_query_parameter_of_any_endpoint_is_a_server_error(app: Flask) -> None:
    """Every GET endpoint of the url_map (a new one is covered the day it is added), hostile dates first."""
    rules = sorted((r for r in app.url_map.iter_rules() if "GET" in (r.methods or set()) and r.endpoint not in SKIPPED),
                   key=lambda r: r.rule)
    assert len(rules) > 20
    clients = {user: page_client(app, user) for user in ("dave", "frank", "carol")}
    for rule in rules:
        probe(app, clients, rule)


def test_the_page_says_it_in_the_readers_language(app: Flask) -> None:
    client = page_client(app, "dave")
    page = client.get("/changes", query_string={"to": "9999-12-31"}, headers={"Accept-Language": "de"})
    assert page.status_code == 400
    assert "„9999-12-31“ liegt außerhalb des Bereichs: verwenden Sie ein Datum von 1970-01-01 bis 2999-12-31" in \
        page.get_data(as_text=True)
    page = client.get("/audit", query_string={"from": "2026-02-30"}, headers={"Accept-Language": "nl"})
    assert page.status_code == 400
    assert "de dag “2026-02-30” bestaat niet" in page.get_data(as_text=True)
