"""The directory interface: who a person is and which groups they are in (SPEC §3, §4).

Policy and SoD code only see these values, never whether they came from the file directory or
LDAP / Active Directory.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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
class Membership:
    """Membership of a user in ``group``; ``via`` is the nesting path from the group the user is
    directly in up to ``group`` (``("engineers", "ot-staff")``), just ``(group,)`` when direct."""

    group: str
    via: tuple[str, ...]
    dn: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"group": self.group, "via": list(self.via), "dn": self.dn}


class Directory(Protocol):
    """Every call is a fresh lookup unless it says otherwise: SoD decisions must not use stale data."""

    kind: str

    def authenticate(self, username: str, password: str) -> User:
        """Check the password; raise AuthError (one generic message) or DirectoryUnavailable."""
        ...

    def get_user(self, username: str) -> User | None:
        """The user ``username`` names, matched as the directory matches names (case and Unicode
        compatibility folded); ``User.username`` is the directory's own spelling."""
        ...

    def canonical(self, username: str) -> str | None:
        """The directory's own spelling of ``username`` (SPEC §11), ``None`` for no such user: every
        name is resolved through this before it is stored, compared or counted."""
        ...

    def find_by_email(self, email: str) -> User | None:
        """Case-insensitive match on the email address (commit authors are matched this way)."""
        ...

    def memberships(self, username: str) -> list[Membership]:
        """Every group the user is in, nested groups resolved, each with its path."""
        ...

    def group_exists(self, group: str) -> bool: ...

    def group_members(self, group: str) -> list[tuple[User, Membership]]:
        """Every user in ``group`` (nested included), for the access review."""
        ...

    def group_accounts(self, groups: Sequence[str]) -> dict[str, list[tuple[User, Membership, bool]]]:
        """Every account in each of ``groups`` (nested included), disabled ones too, flagged ``True``:
        the access review shows who still sits in a group. Read in bulk (one or two searches on
        OpenLDAP, three per group on Active Directory), never per person."""
        ...

    def health(self) -> str:
        """``"ok"`` or a short reason the directory cannot be used right now."""
        ...

    def close(self) -> None: ...
