"""Who a person is and which groups they are in (SPEC §3, §11): the values policy and SoD decide with.

Directory adapters (``gatekeeper.directory``) produce these; policy never sees whether they came
from the file directory or LDAP / Active Directory.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


def fold(name: str) -> str:
    """The form two spellings of one name compare equal in: NFKC, case folded, NFKC again (Unicode's
    NFKC_Casefold, what OpenLDAP's caseIgnore matching does), so ``Carol``, ``ＣＡＲＯＬ`` and ``𝐜𝐚𝐫𝐨𝐥``
    are one key. Used for lookups and counters, never shown: the directory's own spelling is."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name.strip()).casefold())


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    dn: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"username": self.username, "name": self.name, "email": self.email, "dn": self.dn}


@dataclass(frozen=True)
class Identity:
    """A person as resolved once, at the door (issue 23 item 3): a directory user, or an explicit unknown.

    ``given`` is what was written (a pusher's username, a commit's address, a co-author's name);
    ``user`` the directory user it names, None for nobody the directory knows. ``resembles``: the
    directory usernames it looks like without being them (TR39 confusable skeleton, a ``+tag``, a
    sub-domain, the same name); ``hidden``: the invisible or control characters it holds, named
    (``U+200B ZERO WIDTH SPACE``). Only ``name`` is ever stored: the directory's own spelling.
    """

    given: str = ""
    user: User | None = None
    resembles: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.user is not None

    @property
    def name(self) -> str:
        """The directory's spelling of a known person; what was given for an unknown one."""
        return self.user.username if self.user is not None else self.given

    def is_user(self, username: str) -> bool:
        """Whether this identity is ``username``, or looks like them (SoD counts both as them)."""
        return (self.user is not None and self.user.username == username) or username in self.resembles


def known(user: User) -> Identity:
    return Identity(user.username, user)


def unknown(given: str = "") -> Identity:
    return Identity(given)


@dataclass(frozen=True)
class Membership:
    """Membership of a user in ``group``; ``via`` is the nesting path from the group the user is
    directly in up to ``group`` (``("engineers", "ot-staff")``), just ``(group,)`` when direct."""

    group: str
    via: tuple[str, ...]
    dn: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"group": self.group, "via": list(self.via), "dn": self.dn}
