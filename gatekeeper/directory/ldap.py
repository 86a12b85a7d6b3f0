"""The LDAP / Active Directory directory (SPEC §4, issue 6), with ldap3, behind ``base.Directory``.

Every value put into a filter (username, email, DN) is escaped per RFC 4515, so ``*``, ``(``, ``)``,
``\\`` or NUL cannot widen a search, and a lookup must match exactly one entry. Passwords are checked
by a bind as the user's DN on a connection of its own; empty ones are refused before any bind (RFC
4513 unauthenticated binds "succeed"). Lookups share a small pool of service-account connections,
but ``memberships()`` caches nothing: SoD at signing and at the gate needs today's groups
(``memberships_cached()`` is for page views). Anything that stops us asking the directory raises
``DirectoryUnavailable`` (fail closed); a pooled connection gone stale is replaced once.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import re
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException, LDAPInvalidFilterError
from ldap3.operation.search import parse_filter
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from gatekeeper.config import DirectoryConfig
from gatekeeper.directory import ldap_ad
from gatekeeper.directory.ldap_entry import Entry, Search
from gatekeeper.errors import AuthError, ConfigError, DirectoryUnavailable, GatekeeperError
from gatekeeper.policy.people import Membership, User

log = logging.getLogger(__name__)
T = TypeVar("T")

AUTH_FAILED = "invalid username or password"
PAGE_SIZE = 500  # simple paged results (RFC 2696); AD's default MaxPageSize is 1000
MAX_INPUT = 256  # longer usernames / emails are refused without asking the server
PAGED_OID = "1.2.840.113556.1.4.319"
PERMANENT_LOCK = "000001010000Z"  # ppolicy's administrative lock: pwdAccountLockedTime never expires
GROUP_CLASSES = ("groupOfNames", "groupOfUniqueNames", "posixGroup", "groupOfMembers")
_OPENLDAP_GROUPS = "(|" + "".join(f"(objectClass={c})" for c in GROUP_CLASSES) + ")"
_NO_SUCH_USER = "cn=gatekeeper-no-such-user"  # bound as for unknown names, so they cost the same


def _any(terms: Sequence[str]) -> str:
    return terms[0] if len(terms) == 1 else "(|" + "".join(terms) + ")"


def _unbind(conn: ldap3.Connection) -> None:
    with contextlib.suppress(LDAPException, OSError):
        conn.unbind()


def _reason(exc: BaseException) -> str:
    """One line for humans; ldap3 nests the socket error in a tuple-ish message."""
    text = str(exc).replace("\n", " ")
    for marker in ("Connection refused", "timed out", "certificate verify failed", "doesn't match"):
        if marker in text:
            return "server certificate does not match the host name" if marker == "doesn't match" else marker
    return f"{type(exc).__name__}: {text}"[:300]


class LdapDirectory:
    """``directory.kind = "ldap"``; ``flavor`` picks the OpenLDAP walk or AD's in-chain queries.

    ``server`` and ``client_strategy`` are seams for tests (ldap3's offline MOCK_SYNC).
    """

    kind = "ldap"

    def __init__(self, config: DirectoryConfig, *, password: str, pool_size: int = 4,
                 server: ldap3.Server | None = None, client_strategy: str = ldap3.SYNC,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config, self._password, self._strategy, self._clock = config, password, client_strategy, clock
        self._ad = config.flavor == "active-directory"
        self._user_filter, self._user_attrs = config.user_filter, dict(config.user_attrs)
        if self._ad:
            self._user_filter, self._user_attrs = ldap_ad.settings(config.user_filter, config.user_attrs)
        # group_member_attr may name several shapes at once: "member,uniqueMember,memberUid".
        member_attrs = [a.strip() for a in config.group_member_attr.split(",") if a.strip()]
        self._uid_attrs = [a for a in member_attrs if a.lower() == "memberuid"]  # values are usernames
        self._dn_attrs = [a for a in member_attrs if a.lower() != "memberuid"]  # values are DNs
        self._check_config(member_attrs)
        self._url = config.url.strip().rstrip("/")
        self._ldaps = self._url.lower().startswith("ldaps://")
        self._start_tls = config.start_tls and not self._ldaps
        self._server = server  # None: a new ldap3.Server per connection, see _open
        host = urlsplit(self._url).hostname or ""
        if not (self._ldaps or self._start_tls or host in ("localhost", "::1") or host.startswith("127.")):
            log.warning("directory %s: passwords cross the network unencrypted; use start_tls or ldaps://",
                        self._url)
        # At most pool_size service-account connections, each used by one thread at a time; a slot
        # holds an idle connection or None (connect on demand), LIFO so idle ones are reused first.
        self._slots: queue.LifoQueue[ldap3.Connection | None] = queue.LifoQueue()
        for _ in range(pool_size):
            self._slots.put(None)
        self._cache: dict[str, tuple[float, tuple[Membership, ...]]] = {}

    def _check_config(self, member_attrs: list[str]) -> None:
        """Mistakes that would otherwise surface as odd search failures, reported once at start-up."""
        c = self.config
        try:  # ldap3 would otherwise report a bad filter as an unreachable directory
            parse_filter(self._user_filter.replace("{username}", "x"), None, True, False, None, False)
        except LDAPInvalidFilterError as exc:
            raise ConfigError(f"not a valid LDAP filter: {exc}", key="directory.user_filter") from exc
        if not member_attrs:
            raise ConfigError("names no attribute", key="directory.group_member_attr")
        if c.bind_dn and not self._password:
            raise ConfigError("the service account password is empty", key="directory.bind_password_env")
        if c.ca_file is not None and not c.ca_file.is_file():
            raise ConfigError(f"cannot read {c.ca_file}", key="directory.ca_file")

    # -- connections ---------------------------------------------------------------------------------
    def _open(self, user: str | None, password: str | None) -> tuple[ldap3.Connection, bool]:
        """Connect, StartTLS if configured, bind: (connection, bind held). A new ``Server`` each time:
        ldap3 marks a refused address unusable on a shared one, which outlasts the outage."""
        ca = str(self.config.ca_file) if self.config.ca_file else None  # None: the system's CAs
        server = self._server or ldap3.Server(
            self._url, use_ssl=self._ldaps, get_info=ldap3.NONE, connect_timeout=self.config.timeout,
            tls=ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca))
        # Raw UTF-8, as python-ldap and ldapsearch send it: ldap3's SASLprep would reject some
        # characters with an exception that looks like an outage, and map others the server won't.
        raw = password.encode("utf-8") if password else None
        conn = ldap3.Connection(server, user=user, password=raw, read_only=True,
                                client_strategy=self._strategy, raise_exceptions=False, auto_referrals=False,
                                receive_timeout=max(1, math.ceil(self.config.timeout)))
        try:
            conn.open()
            if self._start_tls:
                conn.start_tls()
            return conn, bool(conn.bind())
        except (LDAPException, OSError) as exc:
            _unbind(conn)
            raise self._unreachable(_reason(exc)) from exc

    def _unreachable(self, reason: str) -> DirectoryUnavailable:  # one line, also for start-up checks
        return DirectoryUnavailable(f"directory unreachable: {self._url}: {reason}")

    def _acquire(self) -> tuple[ldap3.Connection, bool]:
        """A pooled connection and whether it was reused (a reused one may have gone stale)."""
        try:
            conn = self._slots.get(timeout=max(self.config.timeout, 1.0))
        except queue.Empty:
            raise DirectoryUnavailable("directory busy: every connection in use") from None
        if conn is not None and not conn.closed:
            return conn, True
        dn = self.config.bind_dn
        try:
            conn, ok = self._open(dn or None, self._password if dn else None)  # no bind_dn: anonymous
            if not ok:
                _unbind(conn)
                raise self._unreachable(f"service account bind as {dn or '(anonymous)'} "
                                        f"failed ({(conn.result or {}).get('description', 'refused')})")
            return conn, False
        except BaseException:
            self._slots.put(None)
            raise

    def _run(self, op: Callable[[Search], T]) -> T:
        """Run ``op`` on a pooled connection; a stale reused one is replaced once by a fresh one."""
        for attempt in (1, 2):
            conn, reused = self._acquire()
            try:
                result = op(partial(self._search, conn))
            except (LDAPException, OSError) as exc:
                _unbind(conn)
                self._slots.put(None)
                if reused and attempt == 1:
                    self.close()  # after a restart every idle connection is dead
                    continue
                raise self._unreachable(_reason(exc)) from exc
            except BaseException:
                _unbind(conn)
                self._slots.put(None)
                raise
            self._slots.put(conn)
            return result
        raise AssertionError("not reached")

    def _search(self, conn: ldap3.Connection, base: str, flt: str, attrs: Sequence[str], *,
                scope: str = ldap3.SUBTREE, limit: int = 0, missing_ok: bool = False) -> list[Entry]:
        """All entries, page by page (RFC 2696); any result but success fails closed."""
        paged = scope != ldap3.BASE and limit == 0
        out: list[Entry] = []
        cookie: bytes | None = None
        while True:
            conn.search(base, flt, search_scope=scope, attributes=list(attrs) or ["1.1"], size_limit=limit,
                        time_limit=max(1, int(self.config.timeout)), paged_size=PAGE_SIZE if paged else None,
                        paged_cookie=cookie, auto_escape=False)
            res: dict[str, Any] | None = conn.result
            if not res:
                raise LDAPException("no response from the server")
            if res.get("result") == 32 and missing_ok:  # noSuchObject
                return out
            if res.get("result") != 0 and not (res.get("result") == 4 and limit):  # 4: sizeLimitExceeded
                detail = f"{res.get('description')} {res.get('message') or ''}".strip()
                raise DirectoryUnavailable(f"directory search under {base} failed: {detail}")
            out += [_entry(r) for r in conn.response or () if r.get("type") == "searchResEntry"]
            cookie = ((res.get("controls") or {}).get(PAGED_OID) or {}).get("value", {}).get("cookie")
            if not (paged and cookie):
                return out

    # -- users -----------------------------------------------------------------------------------------
    def _find_user(self, search: Search, username: str) -> Entry | None:
        """The one enabled entry ``username`` names; none, several or disabled → None."""
        if not username or len(username) > MAX_INPUT:
            return None
        flt = self._user_filter.replace("{username}", escape_filter_chars(username))
        return self._one(search(self.config.user_base, flt, self._wanted_attrs(), limit=2))

    def _one(self, entries: list[Entry]) -> Entry | None:
        if len(entries) > 1:
            log.warning("directory: %d entries match one name (%s, ...); refusing to guess", len(entries),
                        entries[0].dn)
        one = entries[0] if len(entries) == 1 else None
        return one if one and one.first(self._user_attrs["username"]) and not self._disabled(one) else None

    def _wanted_attrs(self) -> list[str]:
        extra = ldap_ad.EXTRA_USER_ATTRS if self._ad else ("pwdAccountLockedTime",)
        return [*dict.fromkeys(self._user_attrs.values()), *extra]

    def _disabled(self, entry: Entry) -> bool:
        locked = entry.first("pwdAccountLockedTime") == PERMANENT_LOCK
        return ldap_ad.is_disabled(entry) if self._ad else locked

    def _to_user(self, entry: Entry) -> User | None:
        a = self._user_attrs
        username = entry.first(a["username"])
        return User(username=username, name=entry.first(a["name"]) or username,
                    email=entry.first(a["email"]) or "", dn=entry.dn) if username else None

    # -- Directory protocol ----------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User:
        if not username or not password or len(username) > MAX_INPUT or len(password) > 1024:
            raise AuthError(AUTH_FAILED)
        entry = self._run(lambda search: self._find_user(search, username))
        # Unknown and disabled names still cost a bind, so timing does not tell them apart.
        conn, ok = self._open(entry.dn if entry else f"{_NO_SUCH_USER},{self.config.user_base}", password)
        _unbind(conn)
        user = self._to_user(entry) if entry is not None and ok else None
        if user is None:
            raise AuthError(AUTH_FAILED)
        return user

    def get_user(self, username: str) -> User | None:
        entry = self._run(lambda search: self._find_user(search, username))
        return self._to_user(entry) if entry is not None else None

    def canonical(self, username: str) -> str | None:
        """The entry's own ``username`` attribute value: the server matched ``username`` with its
        matching rule (OpenLDAP: case and Unicode compatibility folded), we keep its spelling."""
        user = self.get_user(username)
        return user.username if user else None

    def find_by_email(self, email: str) -> User | None:
        email, attr, wanted = email.strip(), self._user_attrs["email"], self._wanted_attrs()
        if not email or len(email) > MAX_INPUT:
            return None
        flt = ldap_ad.email_filter(attr, email) if self._ad else f"({attr}={escape_filter_chars(email)})"
        entry = self._run(lambda search: self._one(search(self.config.user_base, flt, wanted, limit=2)))
        return self._to_user(entry) if entry is not None else None

    def find_by_name(self, name: str) -> list[User]:
        """Users whose username or display-name attribute is ``name`` (the server's matching rule)."""
        name = name.strip()
        if not name or len(name) > MAX_INPUT:
            return []
        a, value = self._user_attrs, escape_filter_chars(name)
        flt = f"(|({a['username']}={value})({a['name']}={value}))"
        if self._ad:
            flt = f"(&{ldap_ad.PERSON}{flt})"
        entries = self._run(lambda search: search(self.config.user_base, flt, self._wanted_attrs(), limit=3))
        users = [self._to_user(e) for e in entries if not self._disabled(e)]
        return [u for u in users if u is not None][:2]

    def memberships(self, username: str) -> list[Membership]:
        """Fresh every time (SoD); nested groups resolved, each with its shortest path."""
        return self._run(lambda search: self._memberships(search, username))

    def memberships_cached(self, username: str, max_age: float = 30.0) -> list[Membership]:
        """For page views only: may be ``max_age`` seconds old. SoD decisions call ``memberships``."""
        now, hit = self._clock(), self._cache.get(username)  # dict get/set are atomic under the GIL
        if hit is None or now - hit[0] >= max_age:
            if len(self._cache) > 10_000:
                self._cache.clear()
            hit = self._cache[username] = (now, tuple(self.memberships(username)))
        return list(hit[1])

    def _memberships(self, search: Search, username: str) -> list[Membership]:
        user, name_attr = self._find_user(search, username), self.config.group_name_attr
        if user is None:
            return []
        if self._ad:
            return ldap_ad.memberships(search, self.config.group_base, name_attr, user)
        uid = user.first(self._user_attrs["username"]) or ""
        terms = [f"({a}={escape_filter_chars(user.dn)})" for a in self._dn_attrs]
        terms += [f"({a}={escape_filter_chars(uid)})" for a in self._uid_attrs]
        # Breadth-first upwards from the direct groups: the first path found is a shortest one, and
        # the visited set (keyed on the server's own DNs) makes cycles terminate.
        found: dict[str, Membership] = {}
        direct = search(self.config.group_base, _any(terms), [name_attr])
        todo: deque[tuple[Entry, tuple[str, ...]]] = deque((g, (g.name(name_attr),)) for g in direct)
        while todo:
            group, via = todo.popleft()
            if group.key in found:
                continue
            found[group.key] = Membership(group=group.name(name_attr), via=via, dn=group.dn)
            if self.config.nested and self._dn_attrs:
                parents = _any([f"({a}={escape_filter_chars(group.dn)})" for a in self._dn_attrs])
                for p in search(self.config.group_base, parents, [name_attr]):
                    todo.append((p, (*via, p.name(name_attr))))
        return sorted(found.values(), key=lambda m: (m.group, m.via))

    def group_graph(self) -> GroupGraph | None:
        """Every group under ``group_base`` with its members, in one (paged) search, for answering many
        membership questions within one request (``memo.MemoDirectory``); ``None`` on Active
        Directory, whose in-chain query already answers one user in one search."""
        if self._ad:
            return None
        name_attr, attrs = self.config.group_name_attr, [*self._dn_attrs, *self._uid_attrs]
        entries = self._run(lambda search: search(self.config.group_base, _any([f"({a}=*)" for a in attrs]),
                                                  [name_attr, *attrs]))
        names: dict[str, tuple[str, str]] = {}
        by_dn: dict[str, list[str]] = {}
        by_uid: dict[str, list[str]] = {}
        members: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for e in entries:
            key = _dn_key(e.dn)
            names[key] = (e.name(name_attr), e.dn)
            dns = tuple(dn for a in self._dn_attrs for dn in e.values(a))
            uids = tuple(uid for a in self._uid_attrs for uid in e.values(a))
            members[key] = (dns, uids)
            for dn in dns:
                by_dn.setdefault(_dn_key(dn), []).append(key)
            for uid in uids:
                by_uid.setdefault(uid, []).append(key)
        return GroupGraph(names, by_dn, by_uid, members)

    def memberships_in(self, graph: GroupGraph, user: User) -> list[Membership]:
        """``memberships`` answered from a ``group_graph`` for a user already looked up: the same
        breadth-first walk upwards (shortest paths, cycles stop), no further search."""
        direct = [*graph.by_member_dn.get(_dn_key(user.dn or ""), ()), *graph.by_member_uid.get(user.username, ())]
        found: dict[str, Membership] = {}
        todo: deque[tuple[str, tuple[str, ...]]] = deque((k, (graph.groups[k][0],)) for k in direct)
        while todo:
            key, via = todo.popleft()
            if key in found:
                continue
            name, dn = graph.groups[key]
            found[key] = Membership(group=name, via=via, dn=dn)
            if self.config.nested and self._dn_attrs:
                todo.extend((p, (*via, graph.groups[p][0])) for p in graph.by_member_dn.get(key, ()))
        return sorted(found.values(), key=lambda m: (m.group, m.via))

    def group_members_in(self, graph: GroupGraph, group: str, known: Sequence[User] = ()
                         ) -> list[tuple[User, Membership]]:
        """``group_members`` from a ``group_graph``: nesting walked in memory, and each member read
        only when ``known`` (users already looked up in this request) does not hold it."""
        by_dn = {_dn_key(u.dn): u for u in known if u.dn}
        out: dict[str, tuple[User, Membership]] = {}
        for m, dn, uid in self._walk_down(graph, group):
            if dn is not None:
                mkey = _dn_key(dn)
                user = None if mkey in out else by_dn.get(mkey) or self._read_member(dn)
            else:
                user = next((u for u in known if u.username == uid), None) or self.get_user(uid or "")
                mkey = _dn_key(user.dn) if user is not None and user.dn else ""
            if user is not None and mkey and mkey not in out:
                out[mkey] = (user, m)
        return sorted(out.values(), key=lambda um: um[0].username)

    def _walk_down(self, graph: GroupGraph, group: str) -> Iterator[tuple[Membership, str | None, str | None]]:
        """Every non-group member of ``group`` in a ``group_graph``, breadth-first downwards (shortest
        paths first, cycles stop): ``(membership with its via, member DN or None, memberUid or None)``;
        ``via`` grows at the front, from the member's own group up to ``group``."""
        wanted = group.strip().lower()  # cn is a case-ignore attribute
        for target in [k for k, (name, _) in graph.groups.items() if name.lower() == wanted]:
            tname, tdn = graph.groups[target]
            seen: set[str] = set()
            todo: deque[tuple[str, tuple[str, ...]]] = deque([(target, (tname,))])
            while todo:
                key, via = todo.popleft()
                if key in seen:
                    continue
                seen.add(key)
                m = Membership(group=tname, via=via, dn=tdn)
                dns, uids = graph.members.get(key, ((), ()))
                for dn in dns:
                    mkey = _dn_key(dn)
                    if mkey not in graph.groups:
                        yield m, dn, None
                    elif self.config.nested:
                        todo.append((mkey, (graph.groups[mkey][0], *via)))
                for uid in uids:
                    yield m, None, uid

    def _read_member(self, dn: str) -> User | None:
        """One member entry by DN: an enabled user under ``user_base``, else None."""
        if not _under(dn, self.config.user_base):
            return None
        found = self._run(lambda search: search(dn, "(objectClass=*)", self._wanted_attrs(), scope=ldap3.BASE,
                                                missing_ok=True))
        return self._to_user(found[0]) if found and not self._disabled(found[0]) else None

    def group_exists(self, group: str) -> bool:
        flt = self._group_filter(group)
        return bool(self._run(lambda search: search(self.config.group_base, flt, [], limit=1)))

    def _group_filter(self, group: str) -> str:
        if self._ad:
            return ldap_ad.group_filter(self.config.group_name_attr, group)
        return f"(&{_OPENLDAP_GROUPS}({self.config.group_name_attr}={escape_filter_chars(group)}))"

    def group_members(self, group: str) -> list[tuple[User, Membership]]:
        """Every enabled user in ``group``, nested included, each with its path (access review)."""
        c = self.config
        if self._ad:
            return self._run(lambda search: ldap_ad.group_members(
                search, group_base=c.group_base, user_base=c.user_base, name_attr=c.group_name_attr,
                group=group, user_attrs=list(self._user_attrs.values()), to_user=self._to_user))
        return self._run(lambda search: self._group_members(search, group))

    def group_accounts(self, groups: Sequence[str]) -> dict[str, list[tuple[User, Membership, bool]]]:
        """Every account in each group, disabled ones flagged (access review). OpenLDAP: two searches
        whatever the numbers, all groups (``group_graph``) and all accounts under ``user_base``, walked
        in memory; Active Directory: its in-chain queries, three per group."""
        c = self.config
        if self._ad:
            return self._run(lambda search: {g: ldap_ad.group_accounts(
                search, group_base=c.group_base, user_base=c.user_base, name_attr=c.group_name_attr, group=g,
                user_attrs=list(self._user_attrs.values()), to_user=self._to_user) for g in groups})
        graph = self.group_graph()
        assert graph is not None
        flt = self._user_filter.replace("{username}", "*")  # a presence filter: every account
        entries = self._run(lambda search: search(c.user_base, flt, self._wanted_attrs()))
        by_dn: dict[str, tuple[User, bool]] = {}
        for e in entries:
            if (user := self._to_user(e)) is not None:
                by_dn[_dn_key(e.dn)] = (user, self._disabled(e))
        by_uid = {u.username: (u, off) for u, off in by_dn.values()}
        return {g: self._accounts_in(graph, g, by_dn, by_uid) for g in groups}

    def _accounts_in(self, graph: GroupGraph, group: str, by_dn: Mapping[str, tuple[User, bool]],
                     by_uid: Mapping[str, tuple[User, bool]]) -> list[tuple[User, Membership, bool]]:
        """``group``'s accounts from the group graph and every account read in bulk: no further search."""
        out: dict[str, tuple[User, Membership, bool]] = {}
        for m, dn, uid in self._walk_down(graph, group):
            hit = by_dn.get(_dn_key(dn)) if dn is not None else by_uid.get(uid or "")
            if hit is not None and (mkey := _dn_key(hit[0].dn or "")) not in out:
                out[mkey] = (hit[0], m, hit[1])
        return sorted(out.values(), key=lambda t: t[0].username)

    def _group_members(self, search: Search, group: str) -> list[tuple[User, Membership]]:
        """Breadth-first downwards, reading each member; ``via`` grows at the front."""
        cfg, member_attrs = self.config, self._dn_attrs + self._uid_attrs
        name_attr = cfg.group_name_attr
        read = [name_attr, "objectClass", *member_attrs, *self._wanted_attrs()]
        out: dict[str, tuple[User, Membership]] = {}
        for target in search(cfg.group_base, self._group_filter(group), [name_attr, *member_attrs]):
            seen: set[str] = set()
            todo: deque[tuple[Entry, tuple[str, ...]]] = deque([(target, (target.name(name_attr),))])
            while todo:
                g, via = todo.popleft()
                if g.key in seen:
                    continue
                seen.add(g.key)
                members = [self._find_user(search, uid) for a in self._uid_attrs for uid in g.values(a)]
                for dn in (dn for a in self._dn_attrs for dn in g.values(a)):
                    members += search(dn, "(objectClass=*)", read, scope=ldap3.BASE, missing_ok=True)
                for m in (m for m in members if m is not None and m.key not in out):
                    if {c.lower() for c in m.values("objectClass")} & {c.lower() for c in GROUP_CLASSES}:
                        if cfg.nested:
                            todo.append((m, (m.name(name_attr), *via)))
                    elif _under(m.dn, cfg.user_base) and not self._disabled(m) and (user := self._to_user(m)):
                        out[m.key] = (user, Membership(group=target.name(name_attr), via=via, dn=target.dn))
        return sorted(out.values(), key=lambda um: um[0].username)

    def health(self) -> str:
        try:
            self._run(lambda search: search(self.config.user_base, "(objectClass=*)", [], scope=ldap3.BASE))
        except GatekeeperError as exc:
            return exc.message
        return "ok"

    def close(self) -> None:
        """Unbind the idle connections; the directory stays usable (it reconnects on demand)."""
        idle: list[ldap3.Connection | None] = []
        with contextlib.suppress(queue.Empty):
            while True:
                idle.append(self._slots.get_nowait())
        for conn in idle:
            if conn is not None:
                _unbind(conn)
            self._slots.put(None)


def _entry(r: Mapping[str, Any]) -> Entry:
    """Raw values decoded here, so results read the same with or without a schema (AD mock has one)."""
    raw: Mapping[str, Sequence[Any]] = r.get("raw_attributes") or {}
    text = {k.lower(): tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in vs)
            for k, vs in raw.items()}
    return Entry(str(r["dn"]), text)


@dataclass(frozen=True)
class GroupGraph:
    """Groups keyed by normalised DN: ``groups`` key → (name, DN as the server spells it);
    ``by_member_dn`` / ``by_member_uid``: member → keys of the groups naming it."""

    groups: Mapping[str, tuple[str, str]]
    by_member_dn: Mapping[str, list[str]]
    by_member_uid: Mapping[str, list[str]]
    members: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]  # key -> (member DNs, member uids)


@lru_cache(maxsize=1 << 16)
def _dn_key(dn: str) -> str:
    """A DN compared as distinguishedNameMatch does for our attributes: RDN by RDN, attribute types and
    (case-ignore) values lower-cased, spaces around separators dropped. Memoised: a group walk of
    thousands of members meets the same DNs again and again (a pure function of the text)."""
    try:
        return ",".join(f"{a.strip().lower()}={_unescape(v.strip()).lower()}" for a, v, _ in parse_dn(dn))
    except (LDAPException, ValueError):  # an unparsable member value matches nothing but itself
        return dn.strip().lower()


def _unescape(value: str) -> str:
    """An RDN value without RFC 4514 escapes (``\\,`` and ``\\2C`` are the same comma), so a DN
    a server spells one way matches a member value written the other."""
    out, i = bytearray(), 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and re.fullmatch(r"[0-9a-fA-F]{2}", value[i + 1:i + 3]):
            out.append(int(value[i + 1:i + 3], 16))
            i += 3
        elif ch == "\\" and i + 1 < len(value):
            out += value[i + 1].encode()
            i += 2
        else:
            out += ch.encode()
            i += 1
    return out.decode("utf-8", "replace")


def _under(dn: str, base: str) -> bool:
    """Is ``dn`` within ``base``? RDN by RDN, case-insensitively."""
    d, b = ([(a.lower(), v.lower()) for a, v, _ in parse_dn(x)] for x in (dn, base))
    return len(d) >= len(b) and d[len(d) - len(b):] == b
