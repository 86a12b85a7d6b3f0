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
class Membership:
    """Membership of a user in ``group``; ``via`` is the nesting path from the group the user is
    directly in up to ``group`` (``("engineers", "ot-staff")``), just ``(group,)`` when direct."""

    group: str
    via: tuple[str, ...]
    dn: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"group": self.group, "via": list(self.via), "dn": self.dn}
