"""The whole story through real pushes and the real service (its own worker thread delivers):
a CR without a ticket is blocked, the ITSM state is checked at signing and at the gate, approvers who
may sign get mail, webhooks are signed, the deployment's work note reaches the ticket, and the register
shows ``ticket_state``. No real ServiceNow is reached: a local server speaks its Table API's JSON."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.formats.fixtures import read
from tests.notify.conftest import SMTP_PASSWORD_ENV, WEBHOOK_SECRET, WEBHOOK_SECRET_ENV, notify_policy, plant_with
from tests.support import smtp
from tests.support.git import make_repo
from tests.support.http_receiver import Receiver, servicenow
from tests.support.service import running

pytestmark = pytest.mark.e2e
RECIPE_V1 = "batchml/2026-04-26_BatchML_Verfahrensrezept1.xml"
RECIPE_V2 = "batchml/2026-04-26_BatchML_Verfahrensrezept2.xml"
TICKETS = {'format = "batchml"': 'format = "batchml"\nticket = "required"\nticket_pattern = "^CHG[0-9]{{7}}$"'}


QUERY = ("GET", "/api/now/table/change_request")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_tickets_itsm_mail_and_webhooks(tmp_path: Path, smtp_server: smtp.SmtpServer) -> None:
    smtp_server.clear()
    tickets = {"CHG0000002": "New", "CHG0000003": "Scheduled"}
    notes: list[tuple[str, str]] = []
    snow = Receiver(routes=servicenow(tickets, notes, "gatekeeper", "snow-pass")).start()
    soc = Receiver(secret=WEBHOOK_SECRET).start()
    chat = Receiver().start()
    itsm = (f'[itsm]\nkind = "servicenow"\nurl = "{snow.url}"\nusername = "gatekeeper"\n'
            'password_env = "GK_SNOW_PASSWORD"\nallowed_states = ["Scheduled", "Implement"]\ntimeout = 2\n')
    policy = notify_policy(smtp_server=smtp_server, categories=TICKETS, extra=itsm,
                           webhooks=[("soc", "standard", soc.url + "/gk"), ("ot-slack", "slack", chat.url + "/s"),
                                     ("ot-teams", "teams", chat.url + "/t")])
    plant = plant_with(tmp_path, policy)
    env = {SMTP_PASSWORD_ENV: smtp.PASSWORD, WEBHOOK_SECRET_ENV: WEBHOOK_SECRET, "GK_SNOW_PASSWORD": "snow-pass"}
    repo = make_repo(plant)
    try:
        with running(plant, env=env) as svc:
            # 1. no ticket: the CR opens with a blocking finding naming what is missing
            repo.checkout("mixing", create=True)
            repo.commit({"recipes/mixing.xml": read(RECIPE_V1)}, "Mixing recipe")
            first = repo.push("HEAD:refs/heads/mixing")
            cid = first.change_id()
            assert ("error: (change ticket) ticket: a change ticket is required by recipes: push with "
                    "-o gatekeeper.ticket=<id> or add a 'Change-Ticket: <id>' trailer to a commit") in first.lines
            refused = svc.sign(cid, "carol")
            assert refused.status_code == 403 and "validation error" in refused.json()["error"]["message"]
            # 2. a malformed ticket is named too
            repo.commit({}, "Name the ticket")
            bad = repo.push("HEAD:refs/heads/mixing", options=("gatekeeper.ticket=CHG42",))
            assert any("change ticket 'CHG42' does not match the pattern ^CHG[0-9]{7}$ of recipes" in ln
                       for ln in bad.lines), bad.stderr
            # 3. a Change-Ticket trailer (parsed by git); the ITSM says "New": no signature
            repo.commit({"recipes/mixing.xml": read(RECIPE_V2)}, "Mixing recipe v2",
                        trailers="Change-Ticket: CHG0000002")
            assert repo.push("HEAD:refs/heads/mixing").ok
            cr = svc.get(f"/api/v1/changes/{cid}", "carol").json()
            assert cr["ticket"] == "CHG0000002" and not [f for f in cr["findings"] if f["severity"] == "error"]
            refused = svc.sign(cid, "carol")
            assert refused.status_code == 403
            assert refused.json()["error"]["message"] == ("change ticket CHG0000002 is New in servicenow; it must "
                                                          "be one of: Scheduled, Implement")
            # the people who may sign now were told; the author was not
            def waiting_mail() -> list[smtp.Arrived]:
                found = [m for m in smtp_server.received if f"Change request {cid} waits" in m.message["Subject"]]
                return found if len({m.rcpt_tos[0] for m in found}) >= 2 else []

            waiting = wait_for("mail to carol and gina", waiting_mail)
            assert {m.rcpt_tos[0] for m in waiting} == {"carol@plant.example", "gina@plant.example"}
            mail = waiting[0]
            assert f"{svc.url}/changes/{cid}" in mail.text and "Still needed: 1 approval by ot-engineering-leads" \
                in mail.text and "Financial: no" in mail.text and "recipes/mixing.xml:" in mail.text
            assert f'href="{svc.url}/changes/{cid}"' in mail.html
            assert not smtp_server.to("alice@plant.example")
            # 4. scheduled in the ITSM: carol signs; the state is recorded
            tickets["CHG0000002"] = "Scheduled"
            ok = svc.sign(cid, "carol")
            assert ok.status_code == 201, ok.text
            assert ok.json()["ticket_state"] == "Scheduled"
            wait_for("approval mail to alice", lambda: [m for m in smtp_server.to("alice@plant.example")
                                                        if "approved" in m.message["Subject"]])
            # 5. at the gate the ITSM is asked again: closed meanwhile -> refused
            tickets["CHG0000002"] = "Closed"
            blocked = repo.push("mixing:refs/heads/main")
            assert not blocked.ok and "change ticket CHG0000002 is Closed in servicenow" in blocked.text()
            # an ITSM answering 200 and then a byte every half second holds the push no longer than its timeout
            query = snow.routes[QUERY]
            snow.routes[QUERY] = lambda req: ("drip", {"result": []})
            started = time.monotonic()
            held = repo.push("mixing:refs/heads/main")
            assert not held.ok and "ServiceNow at" in held.text() and "did not answer within 2 s" in held.text()
            assert time.monotonic() - started < 2 + 10  # the deadline, plus a push's own time on a busy machine
            snow.routes[QUERY] = query
            tickets["CHG0000002"] = "Implement"
            deployed = repo.push("mixing:refs/heads/main")
            assert deployed.ok, deployed.stderr
            cr = svc.get(f"/api/v1/changes/{cid}", "carol").json()
            assert cr["state"] == "deployed" and cr["ticket_state"] == "Implement"
            # the work note reaches the ticket through the outbox
            (number, note), = wait_for("work note", lambda: list(notes))
            assert number == "CHG0000002" and f"{svc.url}/changes/{cid}" in note and "Carol Lead (carol)" in note
            wait_for("deploy mail to alice", lambda: [m for m in smtp_server.to("alice@plant.example")
                                                      if "deployed" in m.message["Subject"]])
            # 6. webhooks: signed, one delivery per event and hook; chat hooks got their shapes
            events = wait_for("webhooks", lambda: [r.json()["type"] for r in soc.requests]
                              if len(soc.requests) >= 4 else None)
            assert events.count("change.waiting") == 3 and "change.approved" in events and \
                "change.deployed" in events and "push.refused" in events
            assert all(r.verified for r in soc.requests) and len(set(soc.ids())) == len(soc.requests)
            paths = {r.path for r in chat.requests}
            assert paths == {"/s", "/t"}
            teams = next(r.json() for r in chat.requests if r.path == "/t")
            assert teams["attachments"][0]["content"]["type"] == "AdaptiveCard"
            # 7. the register's last column
            reg = svc.get("/api/v1/audit/register?from=2020-01-01&to=2099-12-31&format=csv", "dave")
            rows = list(csv.reader(io.StringIO(reg.text)))
            assert rows[0][-2:] == ["log_seqs", "ticket_state"]
            assert rows[1][-1] == "Implement"
            # 8. break-glass: the emergency is told to those who may ratify it (erin, its author, is not)
            repo.checkout("hotfix", create=True, start="mixing")
            repo.commit({"tags/line1.txt": "PT-204.high = 7.0\n"}, "Hotfix PT-204 trip", author="erin")
            emergency = repo.push("HEAD:refs/heads/main", user="erin", options=("gatekeeper.emergency=trips",))
            assert emergency.ok, emergency.stderr
            told = wait_for("emergency mail", lambda: {m.rcpt_tos[0] for m in smtp_server.received
                                                       if "EMERGENCY change request" in m.message["Subject"]}
                            if len([m for m in smtp_server.received if "EMERGENCY" in m.message["Subject"]]) >= 2
                            else None)
            assert told == {"carol@plant.example", "gina@plant.example"}
            # 9. the ITSM unreachable at signing: fail closed with a clear 503
            repo.checkout("tags", create=True)
            repo.commit({"recipes/other.xml": read(RECIPE_V1)}, "Other recipe")
            second = repo.push("HEAD:refs/heads/tags", options=("gatekeeper.ticket=CHG0000003",)).change_id()
            snow.routes[QUERY] = lambda req: (200, {"result": "CHG0000003"})  # JSON, but not ServiceNow's shape
            odd = svc.sign(second, "gina")
            assert odd.status_code == 503 and odd.json()["error"]["code"] == "itsm_unavailable"
            assert "unexpected shape ('result' is a string, expected a list)" in odd.json()["error"]["message"]
            snow.routes[QUERY] = lambda req: ("drip", {"result": []})
            started = time.monotonic()
            slow = svc.sign(second, "gina")  # the signature is held no longer than [itsm] timeout
            assert slow.status_code == 503 and "did not answer within 2 s" in slow.json()["error"]["message"]
            assert time.monotonic() - started < 2 + 5
            snow.stop()
            down = svc.sign(second, "gina")
            assert down.status_code == 503 and down.json()["error"]["code"] == "itsm_unavailable"
            assert "unreachable" in down.json()["error"]["message"]
            log = svc.get("/api/v1/log?limit=1000", "dave").json()["entries"]
            kinds = [e["kind"] for e in log]
            assert "notify.sent" in kinds and "notify.failed" not in kinds
            # the ITSM states are in the log entries of the decisions that used them
            [signed] = [e["payload"] for e in log if e["kind"] == "change.approved"]
            assert (signed["ticket"], signed["ticket_state"]) == ("CHG0000002", "Scheduled")
            [intent] = [e["payload"] for e in log if e["kind"] == "deploy.intent" and e["payload"]["changes"]]
            assert [(c["change_id"], c["ticket_state"]) for c in intent["changes"]] == [(cid, "Implement")]
            refused_at_gate, held_at_gate = [e["payload"] for e in log if e["kind"] == "push.refused"][-2:]
            assert held_at_gate["refs"][0]["reasons"][0]["code"] == "gate.itsm_unavailable"
            reasons = refused_at_gate["refs"][0]["reasons"]
            assert "is Closed in servicenow" in " ".join(r["message"] for r in reasons)
            assert reasons[0]["code"] == "ticket.state"
            sent = [e["payload"] for e in log if e["kind"] == "notify.sent"]
            assert {(p["channel"], p["recipient"]) for p in sent} >= {
                ("email", "carol"), ("email", "gina"), ("email", "alice"), ("webhook", "soc"),
                ("webhook", "ot-slack"), ("webhook", "ot-teams"), ("itsm", "CHG0000002")}
    finally:
        for r in (snow, soc, chat):
            r.stop()
