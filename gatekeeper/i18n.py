"""Languages and time zones (SPEC §12): the gettext catalogues and the local-time rendering that pages,
mails and the hook's messages share.

The catalogues are the ``.po`` files under ``gatekeeper/web/translations`` (the source, reviewed in
git); they are compiled in memory the first time a language is used, so a fresh checkout, an editable
and a plain ``pip install .`` all work without a build step and no build output is committed.
Exports, the log and the API stay UTC and ISO 8601: only what people read is localised.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

CATALOGUES = Path(__file__).parent / "web" / "translations"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"  # msgids are English; the en catalogue exists so "complete" is checkable


def po_path(lang: str) -> Path:
    return CATALOGUES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def translations(lang: str) -> NullTranslations:
    """The catalogue of ``lang`` compiled from its ``.po``; fuzzy entries are never used."""
    path = po_path(lang)
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


def N_(text: str) -> str:
    """Marks a msgid where the text is defined and translated later (gettext_noop): pybabel finds it."""
    return text


def translate(lang: str, text: str, **values: object) -> str:
    """``text`` in ``lang`` outside a request (mails, hook messages), ``%(name)s`` filled from ``values``."""
    out = translations(lang).ugettext(text)
    return out % values if values else out


def translate_n(lang: str, singular: str, plural: str, n: int, **values: object) -> str:
    out = translations(lang).ungettext(singular, plural, n)
    return out % {"num": n, **values}


def best_language(accept: Iterable[tuple[str, float]], offered: Iterable[str], default: str) -> str:
    """The first of the browser's ``Accept-Language`` choices (by quality) that is offered; ``de-AT``
    takes ``de``. Nothing offered matches: ``default``."""
    offered = list(offered)
    for tag, _ in sorted(accept, key=lambda x: -x[1]):
        base = tag.replace("_", "-").split("-")[0].lower()
        if base in offered:
            return base
    return default


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def parse_ts(ts: object) -> datetime | None:
    """A stored RFC 3339 timestamp (``…Z`` or with an offset) as an aware datetime; None if it is not one."""
    if not ts:
        return None
    if isinstance(ts, datetime):
        return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    try:
        when = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def local_time(ts: object, tz: ZoneInfo, *, seconds: bool = True) -> str:
    """``2026-05-01 10:00:00 +02:00``: the wall clock in ``tz`` with its offset, so nobody has to guess
    which zone a time is in (ISO 8601 date order in every language: one notation, as the date inputs)."""
    when = parse_ts(ts)
    if when is None:
        return str(ts or "")
    local = when.astimezone(tz)
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else "+00:00"
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " " + offset


def user_preferences(session: Any, username: str) -> tuple[str | None, str | None]:
    """A user's chosen ``(language, time zone)`` from the ``setting`` table; None where they chose nothing."""
    from gatekeeper.store.tables import Setting

    lang = session.get(Setting, f"lang:{username}")
    tz = session.get(Setting, f"tz:{username}")
    return (lang.value if lang else None), (tz.value if tz else None)


def language_of(session: Any, username: str | None, offered: Iterable[str], default: str) -> str:
    """The language a mail or hook message to ``username`` is written in: their setting, else ``default``."""
    chosen = user_preferences(session, username)[0] if username else None
    return chosen if chosen in set(offered) else default
