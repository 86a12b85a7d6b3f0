"""``service.trusted_proxies``: behind a reverse proxy the lockout keys on the forwarded client address."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.web import create_app
from tests.support.plant import Plant, password


def test_lockout_uses_the_forwarded_address_when_a_proxy_is_trusted(plant: Plant, env: None) -> None:
    text = plant.config.read_text().replace("fail_open = false", "fail_open = false\ntrusted_proxies = 1", 1)
    Path(plant.config).write_text(text)
    client = create_app(str(plant.config), overrides={"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(5):
        client.post("/login", data={"username": "gina", "password": "wrong"}, headers=attacker)
    locked = client.post("/login", data={"username": "gina", "password": password("gina")}, headers=attacker)
    assert locked.status_code == 401
    # Another client behind the same proxy is not locked out by the attacker's failures.
    other = client.post("/login", data={"username": "gina", "password": password("gina")},
                        headers={"X-Forwarded-For": "198.51.100.9"})
    assert other.status_code == 302
