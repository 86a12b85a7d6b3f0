"""Languages and time zones (SPEC §12, issue 25): complete catalogues, the language people get,
times in their zone with the offset, mails in the recipient's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from gatekeeper import i18n
from gatekeeper.config import load
from gatekeeper.errors import ConfigError
from gatekeeper.notify.messages import Message
from tests.web.conftest import Seed, login

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None,
            "translate": (2,), "translate_n": (2, 3)}
METHODS = [("gatekeeper/web/templates/**.html", "jinja2"), ("gatekeeper/**.py", "python")]


def source_msgids() -> set[str]:
    """What the code asks to translate now, extracted the way ``make translations`` does."""
    found = set()
    for _file, _line, msg, _comments, _ctx in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(msg if isinstance(msg, str) else msg[0])
    return {m for m in found if m}


@pytest.mark.parametrize("lang", ["en", "nl", "de"])
def test_catalogue_is_complete(lang: str) -> None:
    with i18n.po_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    entries = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    missing = sorted(source_msgids() - set(entries))
    assert not missing, f"{lang}: not in the catalogue (run make translations and translate): {missing[:10]}"
    for msgid, m in entries.items():
        assert "fuzzy" not in m.flags, f"{lang}: fuzzy: {msgid!r}"
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(s.strip() for s in strings), f"{lang}: empty translation of {msgid!r}"
        # every %(name)s of the msgid is in the translation, so formatting never raises or drops a value
        wanted = set(re.findall(r"%\(\w+\)s", msgid if isinstance(m.id, str) else " ".join(m.id)))
        assert all(wanted <= set(re.findall(r"%\(\w+\)s", s)) | {"%(num)s"} for s in strings), (lang, msgid)


def test_accept_language_picks_the_page_language(client: FlaskClient, seed: Seed) -> None:
    page = client.get("/login", headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="de">' in page and "Anmelden" in page and "Benutzername" in page
    page = client.get("/login", headers={"Accept-Language": "nl-BE"}).get_data(as_text=True)
    assert '<html lang="nl">' in page and "Aanmelden" in page and "Gebruikersnaam" in page
    page = client.get("/login", headers={"Accept-Language": "fr-FR,fr"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page  # not offered: default_language


def test_users_setting_wins_and_times_show_their_zone(client: FlaskClient, seed: Seed) -> None:
    login(client, "carol")
    german = {"Accept-Language": "de"}
    page = client.get(f"/changes/{seed.deployed}", headers=german).get_data(as_text=True)
    assert "Änderungsantrag" in page and re.search(r"\d\d:\d\d:\d\d \+00:00", page)  # [service] timezone: UTC
    resp = client.post("/settings/language", data={"language": "nl", "timezone": "Europe/Amsterdam"})
    assert resp.status_code == 303
    page = client.get(f"/changes/{seed.deployed}", headers=german).get_data(as_text=True)
    assert '<html lang="nl">' in page and "Wijzigingsverzoek" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00", page)  # CET or CEST, offset shown
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]*Z"', page)  # the machine-readable instant stays UTC
    assert "Europe/Amsterdam" in page  # the footer names the zone
    bad = client.post("/settings/language", data={"language": "fr", "timezone": "Mars/Olympus"})
    assert bad.status_code == 400
    api = client.get(f"/api/v1/changes/{seed.deployed}", headers={"Authorization": "Basic Y2Fyb2w6eA=="})
    assert api.status_code == 401  # the API is untouched: it never localises


def test_mail_is_written_in_the_recipients_language() -> None:
    msg = Message("change.waiting", i18n.translate("de", "Change request %(id)s waits for your signature: "
                                                         "%(title)s", id=7, title="Drehzahl"),
                  "http://x/changes/7", {}, [("Financial", "ja"), ("Still needed", "1 × finance")],
                  ["recipes/a.xml: parameter 200 → 240 rpm"], "http://x/settings", lang="de")
    text = msg.text(i18n.translate("de", "Hello %(name)s,", name="Bob"))
    assert "Änderungsantrag 7 wartet auf Ihre Signatur: Drehzahl" in text
    assert "Finanziell: ja" in text and "Was sich ändert:" in text and "Hallo Bob," in text
    assert 'lang="de"' in msg.html() and "In Gatekeeper öffnen" in msg.html()


def test_local_time_names_its_offset() -> None:
    ams = i18n.zone("Europe/Amsterdam")
    assert i18n.local_time("2026-07-01T08:00:00.000000Z", ams) == "2026-07-01 10:00:00 +02:00"
    assert i18n.local_time("2026-01-01T08:00:00Z", ams) == "2026-01-01 09:00:00 +01:00"
    assert i18n.local_time("not a time", ams) == "not a time"
    assert i18n.best_language([("de-CH", 1.0)], ["en", "de"], "en") == "de"


@pytest.mark.parametrize(("line", "message"), [
    ('timezone = "Mars/Olympus"', "not an IANA time zone"),
    ('languages = ["en", "fr"]', "'fr' has no catalogue"),
    ('default_language = "de"\nlanguages = ["en"]', "must be one of languages"),
])
def test_bad_language_settings_name_the_key(tmp_path: Path, line: str, message: str) -> None:
    src = (ROOT / "config" / "gatekeeper.toml").read_text()
    src = re.sub(r'(?m)^(languages|default_language|timezone) = .*\n', "", src)
    (tmp_path / "directory.toml").write_text((ROOT / "config" / "directory.toml").read_text())
    (tmp_path / "gatekeeper.toml").write_text(src.replace("[service]\n", f"[service]\n{line}\n", 1))
    with pytest.raises(ConfigError, match=message):
        load(tmp_path / "gatekeeper.toml")


def test_bad_query_input_is_answered_in_words(client: FlaskClient, app: Flask, seed: Seed) -> None:
    login(client, "dave")
    resp = client.get("/changes?from=2026-13-01")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "From: there is no day “2026-13-01”: use YYYY-MM-DD" in page
    assert "%Y" not in page and "does not match format" not in page
    resp = client.get("/changes?page=999")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "There is no page 999: the list has 1 page" in page
    assert "page 999 of" not in page
    resp = client.get("/changes?page=abc")
    assert resp.status_code == 400 and "is not a page number" in resp.get_data(as_text=True)
    resp = client.get("/audit?from=2026-13-01")
    assert resp.status_code == 400 and "YYYY-MM-DD" in resp.get_data(as_text=True)


def test_hook_messages_speak_the_pushers_language(app: Flask, seed: Seed) -> None:
    """What ``remote: gatekeeper:`` says after a topic push, from the real CR: German for a pusher who
    chose German; the findings and group names stay as the policy words them."""
    from gatekeeper.actions import changes as actions
    from gatekeeper.actions import review as rv
    from gatekeeper.store import changes as q
    from gatekeeper.web.i18n import save_preferences

    svc = app.extensions["gatekeeper"]
    with svc.store.write() as s:
        save_preferences(s, "alice", "de", "Europe/Berlin")
    with svc.store.read() as s:
        cr = actions.load(s, seed.pending)
        rev = q.current_revision(s, cr)
        lang = i18n.language_of(s, "alice", svc.config.service.languages, svc.config.service.default_language)
        lines = actions._push_messages(svc, cr, rev.number, rev.fingerprint, False, False, rv.review(svc, s, cr),
                                       [], lang)
    assert lang == "de"
    assert lines[0].startswith(f"Änderungsantrag {seed.pending} eröffnet: refs/heads/")
    assert lines[1].startswith("prüfen: http") and lines[2].startswith("benötigt: 1 approval")
