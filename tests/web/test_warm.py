"""A worker's warm-up (``web.warm``): the request paths' modules imported, every page template compiled
and each offered language's catalogue built, reading nothing from the database and changing nothing."""

from __future__ import annotations

import sys

from flask import Flask

from gatekeeper import i18n
from gatekeeper.web import warm


def test_warm_compiles_every_template_and_catalogue_and_writes_nothing(app: Flask) -> None:
    store = app.extensions["gatekeeper"].store
    with store.read() as s:
        before = s.connection().exec_driver_sql("SELECT count(*) FROM change_log").scalar_one()
    i18n.translations.cache_clear()
    warm.warm(app, ("en", "nl", "de"))
    pages = app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html"))
    cached = {key[1] for key in app.jinja_env.cache or {}}
    assert pages and set(pages) <= cached
    assert i18n.translations.cache_info().currsize == 3
    assert "gatekeeper.actions.push" in sys.modules and "gatekeeper.formats.batchml" in sys.modules
    with store.read() as s:
        assert s.connection().exec_driver_sql("SELECT count(*) FROM change_log").scalar_one() == before


def test_only_a_gunicorn_worker_warms_itself() -> None:
    assert not warm.under_gunicorn()  # pytest, like `gatekeeper serve`, starts without it
