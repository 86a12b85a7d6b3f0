"""Commit identities (issue 22 item 6, SPEC §12 "Commit identities"): who an author, committer or
co-author is, and what it means when the directory knows nobody by that address.

Pure: the directory adapter (``directory/identify.py``) resolves each identity once and hands a
``people.Identity`` in; this module names what is odd about it (invisible characters, the forms
an address takes to look like someone else's) and decides the findings.
"""

from __future__ import annotations

import fnmatch
import unicodedata
from collections.abc import Iterable, Sequence

from gatekeeper.policy.people import Identity
from gatekeeper.policy.reasons import Code, Reason, reason

BLOCK, FLAG = "block", "flag"   # [sod] unknown_commit_identity
PUSHER, AUTHOR, COMMITTER, CO_AUTHOR = "pusher", "author", "committer", "co-author"

# Default-ignorable code points that are not format (Cf) characters (UAX #44 Default_Ignorable_Code_Point):
# they draw nothing, so "carol" and "ca\u034frol" look the same.
_IGNORABLE = frozenset([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, *range(0x180B, 0x1810),
                        *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def invisible(ch: str) -> bool:
    """A character that shows nothing (or moves what follows): control, format, line and paragraph
    separators, and the other default-ignorable code points."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn") or ord(ch) in _IGNORABLE


def hidden_characters(text: str) -> tuple[str, ...]:
    """Each invisible character of ``text`` named: ``U+200B ZERO WIDTH SPACE``."""
    seen = dict.fromkeys(ch for ch in text if invisible(ch))
    return tuple(f"U+{ord(ch):04X} {unicodedata.name(ch, 'UNNAMED CHARACTER')}" for ch in seen)


def visible(text: str) -> str:
    """``text`` without its invisible characters."""
    return "".join(ch for ch in text if not invisible(ch))


def shown(text: str) -> str:
    """``text`` safe to show in one line: invisible characters as ``\\u200b`` escapes."""
    return "".join(f"\\u{ord(ch):04x}" if invisible(ch) and ord(ch) <= 0xFFFF else
                   f"\\U{ord(ch):08x}" if invisible(ch) else ch for ch in text)


def address_forms(address: str) -> list[tuple[str, str]]:
    """Other addresses ``address`` may stand for, with how: the same without invisible characters,
    without a ``+tag`` and at a parent domain (``carol+ot@ot.plant.example`` → ``carol@plant.example``).
    The adapter looks each up in the directory; the TR39 skeleton is compared there."""
    out: list[tuple[str, str]] = []
    plain = visible(address).strip()
    local, at, domain = plain.rpartition("@")
    if not at or not local or not domain:
        return []
    if plain != address.strip():
        out.append((plain, "invisible characters"))
    base = local.split("+", 1)[0]
    if base and base != local:
        out.append((f"{base}@{domain}", "a +tag"))
    labels = domain.split(".")
    for i in range(1, len(labels) - 1):
        parent = ".".join(labels[i:])
        out.append((f"{base or local}@{parent}", "a sub-domain"))
    return list(dict.fromkeys(out))


def external_pattern_problem(pattern: str) -> str | None:
    """Why an ``external_identities`` pattern cannot be used, or None (fail closed)."""
    pat = pattern.strip()
    if "@" not in pat or pat.endswith("@") or pat.rpartition("@")[2] in ("*", "**", ""):
        return (f"{pattern!r}: name the outside party's addresses with their domain "
                "(*@integrator.example, jane@integrator.example)")
    return None


def is_external(address: str, patterns: Iterable[str]) -> bool:
    """Whether ``address`` is an outside party's, listed in ``[sod] external_identities``."""
    folded = address.strip().casefold()
    return bool(folded) and visible(folded) == folded and any(
        fnmatch.fnmatchcase(folded, p.casefold()) for p in patterns)


def _what(who: Identity) -> str:
    return f"'{shown(who.given)}'" if who.given else "(empty)"


def commit_findings(role: str, who: Identity, mode: str, externals: Sequence[str]) -> tuple[list[Reason], list[Reason]]:
    """(blocking, visible) findings about one author, committer or co-author (SPEC §12).

    An address no directory user has blocks approval (``[sod] unknown_commit_identity = "block"``,
    the default) or is shown (``"flag"``); one listed in ``external_identities`` is shown as an
    outside party. One that looks like a directory user's is named as such, and the user it imitates
    counts as having taken part (``sod.involvement``). A co-author nobody matches is shown.
    """
    blocking: list[Reason] = []
    shown_: list[Reason] = []
    if who.hidden:
        shown_.append(reason(Code.SOD_HIDDEN_CHARACTERS, f"{role} {_what(who)} holds invisible characters: "
                             f"{', '.join(who.hidden)}"))
    if who.resembles:
        shown_.append(reason(Code.SOD_LOOKALIKE_IDENTITY, f"{role} {_what(who)} looks like "
                             f"{', '.join(who.resembles)} without being them; they count as taking part"))
    if who.known:
        return blocking, shown_
    if role == CO_AUTHOR:
        kind = "an address" if "@" in who.given else "a name without an address"
        shown_.append(reason(Code.SOD_UNKNOWN_CO_AUTHOR, f"co-author {_what(who)} ({kind}) matches no directory "
                             "user: check who it is before signing"))
    elif is_external(who.given, externals):
        shown_.append(reason(Code.SOD_EXTERNAL_IDENTITY, f"{role} {_what(who)} is an outside party "
                             "([sod] external_identities): check their part before signing"))
    else:
        found = reason(Code.SOD_UNKNOWN_COMMIT_IDENTITY, f"{role} {_what(who)} is no directory user's address, "
                       "so segregation of duties cannot be checked for it")
        (blocking if mode == BLOCK else shown_).append(found)
    return blocking, shown_
