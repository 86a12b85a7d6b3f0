"""Names rather than usernames on the pages (issue 25 item 6), and ticket ids as links to the ITSM.

The directory is asked through the request's memo (``web.context.services``), so a list of fifty
changes by three people asks three times. Someone the directory does not know (a service actor, a
person who left) keeps their username; a directory that cannot answer never breaks the page.
"""

from __future__ import annotations

from flask import g
from markupsafe import Markup, escape

from gatekeeper.errors import GatekeeperError
from gatekeeper.web.context import services


def name_of(username: str | None) -> str:
    """The directory's name for ``username``, or the username itself."""
    if not username:
        return ""
    cache: dict[str, str] = g.setdefault("gk_names", {})
    if username not in cache:
        try:
            user = services().directory.get_user(username)
        except GatekeeperError:
            user = None
        cache[username] = user.name if user is not None and user.name else username
    return cache[username]


def person(username: str | None) -> Markup:
    """A person as pages show them: the name, with the username for whoever needs it (``title``)."""
    name = name_of(username)
    if not username or name == username:
        return escape(username or "")
    return Markup('<span class="person" title="{0}">{1}</span>').format(username, name)


def ticket_link(ticket: str | None) -> Markup:
    """A ticket id as a link into the ITSM (``[itsm] url``), or as plain text without one."""
    from gatekeeper.itsm import ticket_url

    if not ticket:
        return Markup("")
    url = ticket_url(services().config.itsm, ticket)
    if url is None:
        return escape(ticket)
    return Markup('<a href="{0}" rel="noopener noreferrer">{1}</a>').format(url, ticket)
