"""Changes since your last review (issue 25 item 3): the semantic diff between the revision a person last
saw or signed and the current one.

The two revisions' files are turned into one update (earlier revision → current revision, per path)
and run through ``actions.analysis.analyze``, the very code that made each revision's own semantic
diff, so a recipe reads "parameter … 240 → 250 rpm" here too. Contents come from ``content_blob``
(kept with each topic push). A path only one revision touched is compared with the other side's base
content; a content not kept (a revision recorded before migration 0011, or a file too large to send)
is named by its blob ids instead.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from gatekeeper.actions.analysis import analyze
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import ChangeIn, UpdateIn
from gatekeeper.policy.refs import is_null
from gatekeeper.policy.registry import format_of
from gatekeeper.store import changes as q
from gatekeeper.store import reviewing
from gatekeeper.store.tables import ChangeFile, ChangeRequest, Revision

SEEN, SIGNED, CHOSEN = "seen", "signed", "chosen"   # why this earlier revision is the one compared


@dataclass(frozen=True)
class Since:
    revision: int                    # the earlier revision
    current: int
    why: str                         # SEEN, SIGNED or CHOSEN
    same_content: bool               # the fingerprints are equal (a rebase): nothing to review again
    diff: list[dict[str, Any]] = field(default_factory=list)   # the semantic diff's shape: [{path, format, changes}]


def baseline(session: Session, cr: ChangeRequest, username: str) -> tuple[int, str] | None:
    """The latest earlier revision ``username`` signed or saw, and which of the two it was."""
    current = cr.current_revision
    signed = [a.revision for a in q.approvals(session, cr.id or 0) if a.username == username and a.revision < current]
    seen = reviewing.seen_before(session, username, cr.id or 0, current)
    best_signed = max(signed, default=0)
    if seen is None and not best_signed:
        return None
    return (best_signed, SIGNED) if best_signed >= (seen or 0) else (seen or 0, SEEN)


def since(services: Services, session: Session, cr: ChangeRequest, revision: int, why: str) -> Since | None:
    """The semantic diff from ``revision`` to the CR's current revision (None: no such earlier revision)."""
    revs = {r.number: r for r in q.revisions(session, cr.id or 0)}
    old, new = revs.get(revision), revs.get(cr.current_revision)
    if old is None or new is None or old.number >= new.number:
        return None
    if old.fingerprint == new.fingerprint:
        return Since(old.number, new.number, why, True)
    return Since(old.number, new.number, why, False, _diff(services, session, old, new))


def _diff(services: Services, session: Session, old: Revision, new: Revision) -> list[dict[str, Any]]:
    before = {f.path: f for f in q.files(session, old.id or 0)}
    after = {f.path: f for f in q.files(session, new.id or 0)}
    pairs: dict[str, tuple[str, str, str, str]] = {}   # path -> (blob then, blob now, mode then, mode now)
    for path in sorted(set(before) | set(after)):
        b, a = before.get(path), after.get(path)
        then = (b.new_blob, b.new_mode) if b is not None else _base(a)
        now = (a.new_blob, a.new_mode) if a is not None else _base(b)
        if then[0] != now[0] or then[1] != now[1]:
            pairs[path] = (then[0], now[0], then[1], now[1])
    data = reviewing.contents(session, [sha for p in pairs.values() for sha in p[:2] if not is_null(sha)])
    changes, missing = [], []
    for path, (blob_then, blob_now, mode_then, mode_now) in pairs.items():
        sides = [(sha, data.get(sha)) for sha in (blob_then, blob_now)]
        if any(not is_null(sha) and content is None for sha, content in sides):
            missing.append(_not_kept(services, path, blob_then, blob_now))
            continue
        status = "added" if is_null(blob_then) else "deleted" if is_null(blob_now) else "modified"
        (_, then_data), (_, now_data) = sides
        changes.append(ChangeIn(path=path, status=status, old_blob=blob_then, new_blob=blob_now, old_mode=mode_then,
                                new_mode=mode_now, old_content=_b64(then_data), new_content=_b64(now_data),
                                binary=_binary(services, path, then_data, now_data)))
    diff: list[dict[str, Any]] = []
    if changes:
        _, diff = analyze(services.config, UpdateIn(ref="refs/heads/since", old=old.head, new=new.head,
                                                    changes=changes))
    return sorted(diff + missing, key=lambda d: d["path"])


def _base(f: ChangeFile | None) -> tuple[str, str]:
    """A file one revision does not touch has its base content there (the other revision's old side)."""
    assert f is not None
    return f.old_blob, f.old_mode


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def _binary(services: Services, path: str, *sides: bytes | None) -> bool:
    if format_of(path, services.config.categories):
        return False
    return any(b"\x00" in d[:8000] for d in sides if d is not None)


def _not_kept(services: Services, path: str, then: str, now: str) -> dict[str, Any]:
    return {"path": path, "format": format_of(path, services.config.categories), "changes": [
        {"kind": "changed", "element": path, "old": then[:12], "new": now[:12], "financial": False,
         "text": f"content {then[:12]} → {now[:12]} (not kept for comparison: recorded before Gatekeeper kept "
                 "contents, or too large to send)"}]}
