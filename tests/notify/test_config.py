"""The SPEC §11 keys: ``[notify]``, ``[notify.smtp]``, ``[[notify.webhooks]]``, ``[itsm]``, category tickets."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper import config
from gatekeeper.errors import ConfigError
from tests.support.plant import POLICY

BASE = POLICY.format(url="http://127.0.0.1:9", database="sqlite:///gk.db")
TICKETS = 'format = "batchml"\nticket = "required"\nticket_pattern = "^CHG[0-9]{7}$"'
FULL = BASE.replace('format = "batchml"', TICKETS) + """
[notify]
max_attempts = 5

[notify.smtp]
host = "mail.plant.example"
port = 587
security = "starttls"
username = "gatekeeper"
password_env = "GK_SMTP_PASSWORD"
from = "gatekeeper@plant.example"

[[notify.webhooks]]
name = "soc"
url = "https://soc.plant.example/hooks/gatekeeper"
kind = "standard"
events = ["change.deployed", "emergency.opened", "push.refused"]
repos = ["plant-a-ot"]
secret_env = "GK_WEBHOOK_SECRET"

[[notify.webhooks]]
name = "ot-channel"
url = "https://example.webhook.office.com/x"
kind = "teams"
events = ["*"]

[itsm]
kind = "servicenow"
url = "https://plant.service-now.com/"
username = "gatekeeper"
password_env = "GK_SNOW_PASSWORD"
allowed_states = ["Scheduled", "Implement"]
"""


def load_text(tmp_path: Path, text: str) -> config.Config:
    p = tmp_path / "gatekeeper.toml"
    p.write_text(text)
    return config.load(p)


def test_every_key_is_read(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, FULL)
    assert cfg.notify.smtp is not None and cfg.notify.smtp.from_ == "gatekeeper@plant.example"
    assert cfg.notify.smtp.security == "starttls" and cfg.notify.smtp.password_env == "GK_SMTP_PASSWORD"
    assert [h.name for h in cfg.notify.webhooks] == ["soc", "ot-channel"]
    soc, teams = cfg.notify.webhooks
    assert soc.wants("push.refused", "plant-a-ot") and not soc.wants("push.refused", "other-repo")
    assert not soc.wants("change.waiting", "plant-a-ot") and teams.wants("drift.detected", None)
    assert cfg.notify.max_attempts == 5
    assert cfg.itsm is not None and cfg.itsm.url == "https://plant.service-now.com"
    assert cfg.itsm.allowed_states == ("Scheduled", "Implement")
    recipes = cfg.category("recipes")
    assert recipes is not None and recipes.ticket == "required" and recipes.ticket_pattern == "^CHG[0-9]{7}$"
    assert cfg.category("docs").ticket == "optional"  # type: ignore[union-attr]


def test_without_the_tables_nothing_is_enabled(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, BASE)
    assert not cfg.notify.enabled and cfg.itsm is None


@pytest.mark.parametrize(("old", "new", "message"), [
    ('security = "starttls"', 'security = "tls"', r"notify.smtp.security: must be \"starttls\", \"ssl\" or \"none\""),
    ('password_env = "GK_SMTP_PASSWORD"', 'password = "hunter2"', r"notify.smtp.password: secrets are never written"),
    ('password_env = "GK_SMTP_PASSWORD"', '', r"notify.smtp.password_env: is required with username"),
    ('port = 587', 'port = "587"', r"notify.smtp.port: must be an integer"),
    ('from = "gatekeeper@plant.example"', 'from = "gatekeeper"', r"notify.smtp.from: must be an e-mail address"),
    ('kind = "teams"', 'kind = "discord"', r"notify.webhooks\[ot-channel\].kind: must be"),
    ('events = ["*"]', 'events = ["change.opened"]', r"unknown event 'change.opened'"),
    ('secret_env = "GK_WEBHOOK_SECRET"', '', r"notify.webhooks\[soc\].secret_env: is required for kind = \"standard\""),
    ('secret_env = "GK_WEBHOOK_SECRET"', 'secret = "whsec_abc"', r"secret: secrets are never written"),
    ('url = "https://soc.plant.example/hooks/gatekeeper"', 'url = "ftp://soc"', r"notify.webhooks\[soc\].url"),
    ('name = "ot-channel"', 'name = "soc"', r"webhook defined twice"),
    ('max_attempts = 5', 'max_attempts = 0', r"notify.max_attempts: must be at least 1"),
    ('max_attempts = 5', 'retries = 5', r"notify.retries: unknown key"),
    ('kind = "servicenow"', 'kind = "remedy"', r"itsm.kind: must be \"servicenow\" or \"jira\""),
    ('allowed_states = ["Scheduled", "Implement"]', 'allowed_states = []', r"itsm.allowed_states: must name"),
    ('password_env = "GK_SNOW_PASSWORD"', 'token = "abc"', r"itsm.token: secrets are never written"),
    ('ticket = "required"', 'ticket = "mandatory"', r"categories\[recipes\].ticket: must be \"required\""),
    ('ticket_pattern = "^CHG[0-9]{7}$"', 'ticket_pattern = "CHG[0-9"',
     r"categories\[recipes\].ticket_pattern: is not a valid regular expression"),
])
def test_errors_name_the_key_and_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in FULL
    text = FULL.replace(old, new) if old.startswith("password_env = \"GK_SNOW") else _first(FULL, old, new)
    with pytest.raises(ConfigError, match=r"gatekeeper.toml:\d+: .*" + message):
        load_text(tmp_path, text)


def _first(text: str, old: str, new: str) -> str:
    """Replace in the [notify]/[itsm] part when the key also appears earlier (e.g. ``kind``)."""
    head, sep, tail = text.partition("[notify]")
    if old in tail:
        return head + sep + tail.replace(old, new, 1)
    return text.replace(old, new, 1)
