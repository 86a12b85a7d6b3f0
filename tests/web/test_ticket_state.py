"""The change page shows the ITSM state of the CR's ticket (SPEC §11) when one was checked."""

from __future__ import annotations

import base64

from flask import Flask
from flask.testing import FlaskClient

from gatekeeper.store.tables import ChangeRequest
from tests.support.plant import password
from tests.web.conftest import Seed, login


def test_ticket_state_on_the_change_page(app: Flask, client: FlaskClient, seed: Seed) -> None:
    login(client, "carol")
    page = client.get(f"/changes/{seed.pending}").get_data(as_text=True)
    assert "CHG-1042" in page and "in the ITSM" not in page
    with app.extensions["gatekeeper"].store.write() as s:
        cr = s.get(ChangeRequest, seed.pending)
        assert cr is not None
        cr.ticket_state = "Scheduled"
    page = client.get(f"/changes/{seed.pending}").get_data(as_text=True)
    assert "CHG-1042" in page and "(Scheduled in the ITSM)" in page
    basic = base64.b64encode(f"carol:{password('carol')}".encode()).decode()
    api = client.get(f"/api/v1/changes/{seed.pending}", headers={"Authorization": f"Basic {basic}"})
    assert api.get_json()["ticket_state"] == "Scheduled"
