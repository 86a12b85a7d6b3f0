"""The change ticket in the ITSM (``[itsm]``, SPEC §11): ServiceNow or Jira, read fresh per decision.

- ServiceNow Table API: ``GET {url}/api/now/table/change_request?sysparm_query=number=<id>`` with display
  values, so ``state`` is the label people see ("Scheduled", "Implement"); the work note is a ``PATCH``
  of ``work_notes`` on the record.
- Jira: ``GET {url}/rest/api/2/issue/<KEY>?fields=status`` (``fields.status.name``); the note is a
  comment (``POST …/comment``).

Credentials come from the environment (``password_env`` with ``username`` → HTTP Basic, or
``token_env`` → Bearer). The state must be one of ``allowed_states``; it is checked when signing and
again at the gate. ITSM unreachable (or refusing our credentials) fails closed: ``ItsmUnavailable``.
Ticket ids are restricted to letters, digits, ``.``, ``_`` and ``-`` before they reach a URL or a
ServiceNow encoded query, so a ticket like ``CHG1^ORnumber=CHG2`` cannot widen the query.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from gatekeeper import outbound
from gatekeeper.config import ItsmConfig
from gatekeeper.errors import Conflict, Forbidden, ServiceUnavailable
from gatekeeper.ledger.events import Reason
from gatekeeper.policy.reasons import Code, reason
from gatekeeper.policy.tickets import state_allowed

TICKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,99}")


class ItsmUnavailable(ServiceUnavailable):
    code = "itsm_unavailable"


@dataclass(frozen=True)
class Ticket:
    """What the ITSM says about one ticket; ``ref`` is the record's own id (ServiceNow ``sys_id``)."""

    id: str
    found: bool
    state: str | None = None
    ref: str | None = None


class Itsm:
    def __init__(self, cfg: ItsmConfig, env: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        env = os.environ if env is None else env
        self._headers = {"Accept": "application/json", "User-Agent": "gatekeeper-itsm"}
        self._auth: tuple[str, str] | None = None
        if cfg.token_env:
            self._headers["Authorization"] = f"Bearer {self._secret(env, cfg.token_env, 'token_env')}"
        else:
            self._auth = (cfg.username, self._secret(env, cfg.password_env, "password_env"))

    def _secret(self, env: Mapping[str, str], name: str, key: str) -> str:
        value = env.get(name, "")
        if not value:
            raise ItsmUnavailable(f"ITSM credential missing: environment variable {name} (itsm.{key}) is not set; "
                                  "change tickets cannot be checked (fail closed)")
        return value

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        name = "ServiceNow" if self.cfg.kind == "servicenow" else "Jira"
        try:
            resp = outbound.request(method, self.cfg.url + path, timeout=self.cfg.timeout, headers=self._headers,
                                    auth=self._auth, **kw)
        except requests.Timeout:
            raise ItsmUnavailable(f"{name} at {self.cfg.url} did not answer within {self.cfg.timeout:g} s; "
                                  "change tickets cannot be checked (fail closed)") from None
        except requests.RequestException as exc:
            raise ItsmUnavailable(f"{name} at {self.cfg.url} is unreachable ({type(exc).__name__}); change "
                                  "tickets cannot be checked (fail closed)") from None
        if resp.status_code in (401, 403):
            raise ItsmUnavailable(f"{name} refused Gatekeeper's credentials (HTTP {resp.status_code}); change "
                                  "tickets cannot be checked (fail closed)")
        if resp.status_code >= 500 or (resp.status_code >= 300 and resp.status_code != 404):
            raise ItsmUnavailable(f"{name} answered HTTP {resp.status_code}; change tickets cannot be checked "
                                  "(fail closed)")
        return resp

    def _json(self, resp: requests.Response) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise ItsmUnavailable("the ITSM answered something that is not JSON; change tickets cannot be "
                                  "checked (fail closed)") from None

    def lookup(self, ticket: str) -> Ticket:
        if not TICKET_ID.fullmatch(ticket):
            return Ticket(ticket, False)
        if self.cfg.kind == "servicenow":
            resp = self._call("GET", "/api/now/table/change_request", params={
                "sysparm_query": f"number={ticket}", "sysparm_fields": "sys_id,number,state",
                "sysparm_display_value": "true", "sysparm_limit": "1"})
            if resp.status_code == 404:
                return Ticket(ticket, False)
            result = _field(_field(self._json(resp), "result", list, "the answer"), None, list, "'result'")
            if not result:
                return Ticket(ticket, False)
            rec = _field(result[0], None, dict, "'result[0]'")
            return Ticket(ticket, True, _display(rec.get("state"), "state"), _display(rec.get("sys_id"), "sys_id"))
        resp = self._call("GET", f"/rest/api/2/issue/{quote(ticket, safe='')}", params={"fields": "status"})
        if resp.status_code == 404:
            return Ticket(ticket, False)
        body = self._json(resp)
        status = _field(_field(_field(body, "fields", dict, "the answer"), "status", dict, "'fields'"),
                        "name", str, "'fields.status'")
        key = _field(body, "key", str, "the answer") if "key" in body else ticket
        return Ticket(ticket, True, status, key)

    def note(self, ticket: str, text: str) -> None:
        """The deployment's work note (ServiceNow) or comment (Jira); raises ``ItsmUnavailable`` to retry."""
        found = self.lookup(ticket)
        if not found.found or not found.ref:
            raise ItsmUnavailable(f"change ticket {ticket} not found in the ITSM; no work note posted")
        if self.cfg.kind == "servicenow":
            resp = self._call("PATCH", f"/api/now/table/change_request/{quote(found.ref, safe='')}",
                              json={"work_notes": text})
        else:
            resp = self._call("POST", f"/rest/api/2/issue/{quote(found.ref, safe='')}/comment", json={"body": text})
        if resp.status_code == 404:
            raise ItsmUnavailable(f"change ticket {ticket} vanished from the ITSM; no work note posted")

    def verdict(self, ticket: str) -> tuple[str, Reason | None]:
        """``(state shown to people, problem or None)`` for a ticket under ``allowed_states``."""
        found = self.lookup(ticket)
        allowed = ", ".join(self.cfg.allowed_states)
        if not found.found:
            return "not found", reason(Code.TICKET_NOT_FOUND,
                                       f"change ticket {ticket} was not found in {self.cfg.kind}")
        if not state_allowed(found.state, self.cfg.allowed_states):
            return found.state or "unknown", reason(Code.TICKET_STATE, f"change ticket {ticket} is "
                                                    f"{found.state or 'without a state'} in {self.cfg.kind}; it must "
                                                    f"be one of: {allowed}")
        return found.state or "", None


def ticket_url(cfg: ItsmConfig | None, ticket: str) -> str | None:
    """Where people open ``ticket`` in the ITSM (issue 25): ServiceNow's change form, Jira's issue page;
    None without ``[itsm]`` or for an id that is not a plain ticket id."""
    if cfg is None or not TICKET_ID.fullmatch(ticket):
        return None
    if cfg.kind == "jira":
        return f"{cfg.url}/browse/{quote(ticket, safe='')}"
    return f"{cfg.url}/change_request.do?sysparm_query=number%3D{quote(ticket, safe='')}"


class ItsmAnswerMalformed(ItsmUnavailable):
    """The ITSM answered JSON of another shape than its documented API: fail closed, naming what."""


_KINDS: dict[type, str] = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
                           int: "a number", float: "a number", type(None): "null"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _field(value: Any, key: str | None, want: type, where: str) -> Any:
    """``value[key]`` (or ``value`` itself when ``key`` is None), which must be a ``want``."""
    if key is not None:
        if not isinstance(value, dict):
            raise _malformed(f"{where} is {_kind(value)}, expected an object with '{key}'")
        if key not in value:
            raise _malformed(f"{where} has no '{key}'")
        where, value = f"'{key}'" if where == "the answer" else f"{where[:-1]}.{key}'", value[key]
    if not isinstance(value, want):
        raise _malformed(f"{where} is {_kind(value)}, expected {_KINDS[want]}")
    return value


def _malformed(what: str) -> ItsmAnswerMalformed:
    return ItsmAnswerMalformed(f"the ITSM's answer has an unexpected shape ({what}); change tickets cannot be "
                               "checked (fail closed)")


def _display(value: Any, name: str) -> str | None:
    """ServiceNow gives a plain string with ``sysparm_display_value=true``, a dict with ``=all``; a field
    of another type is a malformed answer, an absent or empty one means no value."""
    if isinstance(value, dict):
        value = value.get("display_value", value.get("value"))
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _malformed(f"'result[0].{name}' is {_kind(value)}, expected a string")
    return value


def check(cfg: ItsmConfig | None, ticket: str) -> tuple[str | None, Reason | None]:
    """``(state, problem)`` of a CR's ticket; ``(None, None)`` without ``[itsm]`` or without a ticket.

    Raises ``ItsmUnavailable`` when the ITSM cannot answer: callers refuse (fail closed).
    """
    if cfg is None or not ticket:
        return None, None
    return Itsm(cfg).verdict(ticket)


@dataclass(frozen=True)
class Verdict:
    """The ITSM's answer about one ticket, fetched before the signing transaction takes the writer lock."""

    ticket: str
    state: str | None
    problem: Reason | None


def ask(cfg: ItsmConfig | None, ticket: str) -> Verdict | None:
    """At signing, outside the write transaction (an ITSM round trip must not hold up every other writer)."""
    if cfg is None or not ticket:
        return None
    state, problem = check(cfg, ticket)
    return Verdict(ticket, state, problem)


def require(cfg: ItsmConfig | None, verdict: Verdict | None, cr: Any) -> str | None:
    """Inside the signing transaction: the ticket asked about must still be the CR's, in an allowed state.

    Records the state on the CR (``ticket_state``); raises ``Forbidden`` naming the state, or
    ``Conflict`` when the CR's ticket changed meanwhile. ``ask`` raised ``ItsmUnavailable`` (503) already
    when the ITSM could not answer.
    """
    if cfg is None or (verdict is None and not cr.ticket):
        return None
    if verdict is None or verdict.ticket != cr.ticket:
        raise Conflict(f"the change ticket changed while signing (now {cr.ticket or 'none'}); sign again")
    cr.ticket_state = verdict.state
    if verdict.problem:
        raise Forbidden(verdict.problem.message, reasons=(verdict.problem.to_payload(),))
    return verdict.state


def gate_problems(cfg: ItsmConfig | None, cr: Any) -> list[Reason]:
    """At the gate: the same check again; a problem keeps the CR from deploying (``ItsmUnavailable`` propagates)."""
    state, problem = check(cfg, cr.ticket)
    if state is not None:
        cr.ticket_state = state
    return [problem] if problem else []
