"""The pages' language and time zone (SPEC §12): Flask-Babel with our ``.po`` catalogues.

Language: the signed-in user's setting, else the browser's ``Accept-Language`` among
``[service] languages``, else ``default_language``. Time zone: the user's setting, else
``[service] timezone``. Both settings live in the ``setting`` table (``lang:<user>``, ``tz:<user>``),
read once per request; mails and the hook's messages use the same ``preferences()``.
"""

from __future__ import annotations

import logging
from typing import Any

from babel.support import NullTranslations
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, Domain
from markupsafe import Markup, escape
from sqlmodel import Session

from gatekeeper import i18n
from gatekeeper.actions.context import Services
from gatekeeper.store.tables import Setting

LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands", "de": "Deutsch"}  # each in its own language


class PoDomain(Domain):  # type: ignore[misc]
    """Flask-Babel's domain, reading the catalogues ``gatekeeper.i18n`` compiles from the ``.po`` files."""

    def get_translations(self) -> NullTranslations:
        return i18n.translations(language())


preferences = i18n.user_preferences


def save_preferences(session: Session, username: str, lang: str, tz: str) -> None:
    if has_request_context():  # the rest of this request speaks the new choice
        g.pop("gk_lang", None)
        g.pop("gk_prefs", None)
    for key, value in ((f"lang:{username}", lang), (f"tz:{username}", tz)):
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value))
        else:
            row.value = value


def _mine() -> tuple[str | None, str | None]:
    if "gk_prefs" not in g:
        from gatekeeper.web.context import services

        user = g.get("user")
        g.gk_prefs = (None, None)
        if user is not None:
            try:
                with services().store.read() as s:
                    g.gk_prefs = preferences(s, user.username)
            except Exception:  # the database is down: the error page still renders, in the defaults
                logging.getLogger("gatekeeper.web").warning("language settings unreadable; using the defaults")
    prefs: tuple[str | None, str | None] = g.gk_prefs
    return prefs


def language() -> str:
    """The reader's language, worked out once per request: a page asks for it at every translated
    string (thousands on a long list)."""
    from gatekeeper.web.context import services

    if not has_request_context():
        return services().config.service.default_language
    if "gk_lang" not in g:
        cfg = services().config.service
        chosen, _ = _mine()
        g.gk_lang = (chosen if chosen in cfg.languages
                     else i18n.best_language(request.accept_languages, cfg.languages, cfg.default_language))
    lang: str = g.gk_lang
    return lang


def timezone_name() -> str:
    from gatekeeper.web.context import services

    cfg = services().config.service
    _, chosen = _mine()
    return chosen or cfg.timezone


def when(ts: Any) -> Markup:
    """``<time>`` in the reader's zone with the offset; the machine-readable UTC instant stays in
    ``datetime`` (and the title), so a copied time is never ambiguous."""
    if not ts:
        return Markup('<span class="muted">—</span>')
    shown = i18n.local_time(ts, i18n.zone(timezone_name()))
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(str(ts), escape(shown))


def init_app(app: Flask, services: Services) -> None:
    cfg = services.config.service
    babel = Babel()
    babel.init_app(app, default_locale=cfg.default_language, default_timezone=cfg.timezone,
                   locale_selector=language, timezone_selector=timezone_name)
    babel.domain_instance = PoDomain()
    app.jinja_env.filters["localtime"] = lambda ts: i18n.local_time(ts, i18n.zone(timezone_name())) if ts else ""
    app.jinja_env.globals.update(when=when, current_language=language, timezone_name=timezone_name,
                                 language_names=LANGUAGE_NAMES)
