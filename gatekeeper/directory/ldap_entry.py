"""An LDAP search result as both directory flavors read it (``ldap`` for OpenLDAP, ``ldap_ad`` for Active
Directory): lower-cased attribute names, text values, the DN spelled as the server spells it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ldap3.utils.dn import parse_dn


@dataclass(frozen=True)
class Entry:
    """A search result: lower-cased attribute names, text values (raw bytes decoded once)."""

    dn: str
    attrs: Mapping[str, tuple[str, ...]]

    @property
    def key(self) -> str:  # a server always spells an entry's own DN the same way
        return self.dn.lower()

    def values(self, name: str) -> tuple[str, ...]:
        return self.attrs.get(name.lower(), ())

    def first(self, name: str) -> str | None:
        return next(iter(self.values(name)), None)

    def name(self, attr: str) -> str:
        """The group name used in rules: ``attr``'s value, else the RDN value."""
        return self.first(attr) or str(parse_dn(self.dn)[0][1])


Search = Callable[..., list[Entry]]  # (base, filter, attributes, *, scope, limit, missing_ok)
