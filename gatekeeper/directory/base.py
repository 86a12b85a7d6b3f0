"""The directory interface (SPEC §3, §4): the adapters behind it answer with ``policy.people`` values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gatekeeper.policy.people import Membership, User


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

    def find_by_name(self, name: str) -> list[User]:
        """Up to two enabled users whose username or display name is ``name`` (matched as the
        directory matches them): a bare-name co-author is someone only when exactly one is found."""
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
