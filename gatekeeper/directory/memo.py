"""A request-scoped memo around a ``Directory`` (issue 18): within one page view, API call or hook
call each directory question (a user, an e-mail, memberships, a group) is asked at most once.

Make one per request and drop it with the request: nothing is kept across requests, so the gate
and every signature still decide with a fresh lookup. Passwords are never memoised
(``authenticate`` always asks), and failures are not either (a request that saw the directory
down asks again, and fails closed again).

Memberships on OpenLDAP come from one search of every group per request (``group_graph``), walked
in memory for each user, so a page about many people costs one search per person plus one; the
plain ``memberships`` walk costs a search per nesting level and user.

A user found one way answers the other questions about the same person: ``find_by_email`` primes
``get_user`` with the user's own spelling, and ``get_user`` primes the user's e-mail. Priming the
e-mail can only make SoD stricter (a commit address then always resolves to a user whose address
it is), never looser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from gatekeeper.directory.base import Directory
from gatekeeper.policy.people import Membership, User

T = TypeVar("T")
_MISSING = object()


class MemoDirectory:
    """``Directory`` protocol; ``inner`` answers each distinct question once."""

    def __init__(self, inner: Directory) -> None:
        self.inner = inner
        self.kind = inner.kind
        self._users: dict[str, User | None] = {}
        self._emails: dict[str, User | None] = {}
        self._names: dict[str, list[User]] = {}
        self._memberships: dict[str, tuple[Membership, ...]] = {}
        self._groups: dict[str, bool] = {}
        self._members: dict[str, tuple[tuple[User, Membership], ...]] = {}
        self._accounts: dict[str, dict[str, list[tuple[User, Membership, bool]]]] = {}
        self._graph: object = _MISSING
        self.asked = 0  # questions that reached ``inner`` (for tests and benchmarks)

    def _ask(self, table: dict[str, T], key: str, fn: Callable[[], T]) -> T:
        hit = table.get(key, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        self.asked += 1
        value = fn()
        table[key] = value
        return value

    def _prime(self, user: User | None) -> None:
        if user is not None:
            self._users.setdefault(user.username, user)
            if user.email:
                self._emails.setdefault(_email_key(user.email), user)

    # -- Directory protocol ----------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User:
        user = self.inner.authenticate(username, password)
        self._prime(user)
        return user

    def get_user(self, username: str) -> User | None:
        hit = self._users.get(username, _MISSING)
        if hit is not _MISSING:  # the common case on a page about many CRs: no priming again
            return hit  # type: ignore[return-value]
        user = self._ask(self._users, username, lambda: self.inner.get_user(username))
        self._prime(user)
        return user

    def canonical(self, username: str) -> str | None:
        user = self.get_user(username)
        return user.username if user else None

    def find_by_email(self, email: str) -> User | None:
        user = self._ask(self._emails, _email_key(email), lambda: self.inner.find_by_email(email))
        if user is not None:
            self._users.setdefault(user.username, user)
        return user

    def find_by_name(self, name: str) -> list[User]:
        def ask() -> list[User]:
            return list(self.inner.find_by_name(name))

        found: list[User] = self._ask(self._names, name.strip(), ask)
        return list(found)

    def memberships(self, username: str) -> list[Membership]:
        def ask() -> tuple[Membership, ...]:
            graph = self._group_graph()  # LDAP: all groups in one search, walked in memory
            if graph is not None:
                user = self.get_user(username)
                return tuple(self.inner.memberships_in(graph, user)) if user else ()  # type: ignore[attr-defined]
            return tuple(self.inner.memberships(username))

        found: tuple[Membership, ...] = self._ask(self._memberships, username, ask)
        return list(found)

    def group_exists(self, group: str) -> bool:
        return self._ask(self._groups, group, lambda: self.inner.group_exists(group))

    def _group_graph(self) -> object | None:
        """OpenLDAP's groups, read once per request (``None``: the directory answers per user)."""
        graph_of = getattr(self.inner, "group_graph", None)
        if graph_of is None:
            return None
        if self._graph is _MISSING:
            self.asked += 1
            self._graph = graph_of()
        return self._graph

    def group_members(self, group: str) -> list[tuple[User, Membership]]:
        def ask() -> tuple[tuple[User, Membership], ...]:
            graph = self._group_graph()
            if graph is not None:
                known = [u for u in self._users.values() if u is not None]
                return tuple(self.inner.group_members_in(graph, group, known))  # type: ignore[attr-defined]
            return tuple(self.inner.group_members(group))

        members: tuple[tuple[User, Membership], ...] = self._ask(self._members, group, ask)
        for user, _ in members:
            self._users.setdefault(user.username, user)
        return list(members)

    def group_accounts(self, groups: Sequence[str]) -> dict[str, list[tuple[User, Membership, bool]]]:
        """Asked once per request for the same groups; enabled accounts prime ``get_user``."""
        key = "\x1f".join(sorted(set(groups)))
        found = self._ask(self._accounts, key, lambda: self.inner.group_accounts(sorted(set(groups))))
        for members in found.values():
            for user, _, disabled in members:
                if not disabled:
                    self._users.setdefault(user.username, user)
        return {g: list(found.get(g, ())) for g in groups}

    def health(self) -> str:
        return self.inner.health()

    def close(self) -> None:
        """Nothing to release: the inner directory outlives the request."""


def _email_key(email: str) -> str:
    return email.strip().lower()
