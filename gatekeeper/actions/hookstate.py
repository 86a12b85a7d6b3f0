"""The hook's own state as the service receives it (issue 22 item 2): trusted only when sealed.

The hook sends every file it read under ``<bare>/gatekeeper/`` (spooled refusals, deploy-intent
notes) with its seal (``gitio.spool``). A file is accepted only when its HMAC, made with the hook
token, verifies for its kind and this repo, and its content has the shape the hook writes; settle
facts are accepted only when they name an intent of an accepted note (or one the service asked
about) with that intent's own ref, old and new. Everything else is logged as
``hook.state_rejected`` (with what it claimed) and the hook sets the file aside: a file written or
edited by hand is never delivered, and cannot confirm or void anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import HookRequest, SettleIn, SpooledIn, StateFileIn
from gatekeeper.gitio import spool as hookspool
from gatekeeper.gitio.hookconfig import service_token
from gatekeeper.ledger import events as ev
from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.policy.reasons import Code, Reason, reason
from gatekeeper.store import changes as q
from gatekeeper.store import log

MAX_CONTENT = 4000


@dataclass
class Checked:
    """What of the hook's state the service accepted."""

    intents: dict[str, dict[int, tuple[str, str, str]]] = field(default_factory=dict)  # file → id → (ref, old, new)
    noted: dict[int, float] = field(default_factory=dict)   # intent id → when its note was written (git's clock)
    spooled: list[SpooledIn] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)      # files the hook sets aside

    @property
    def intent_ids(self) -> set[int]:
        return {i for listed in self.intents.values() for i in listed}


def _content(value: Any) -> str:
    try:
        text = canon(value).decode("utf-8")
    except (TypeError, ValueError):
        text = repr(value)
    return text[:MAX_CONTENT]


def reject(session: Session, repo: str, file: str, state: str, why: Reason, claimed: Any,
           intent_id: int | None = None) -> None:
    log.append(session, ev.HookStateRejected(repo=repo, file=file, state=state, reasons=(why,),
                                             content=_content(claimed), intent_id=intent_id))


def _seal_problem(f: StateFileIn, repo: str, token: str) -> Reason | None:
    where = f"{f.file} in the bare repo's gatekeeper/ folder"
    if not isinstance(f.mac, str) or not f.mac:
        return reason(Code.HOOK_STATE_UNSEALED, f"{where} carries no seal (written by hand, by an older version, or "
                      "while the hook had no token): set aside, not trusted")
    if not hookspool.verify(f.kind, str(f.repo), f.record, f.mac, token):
        return reason(Code.HOOK_STATE_FORGED, f"{where} does not match its seal (written or edited without the hook "
                      "token): set aside, not trusted")
    if f.repo != repo:
        return reason(Code.HOOK_STATE_FOREIGN, f"{where} was sealed for repository {f.repo!r}, not {repo!r}: set "
                      "aside, not trusted")
    return None


def _intent_entries(record: Any) -> dict[int, tuple[str, str, str]] | None:
    items = record.get("intents") if isinstance(record, dict) else None
    if not isinstance(items, list) or not isinstance(record.get("at"), int | float):
        return None
    out: dict[int, tuple[str, str, str]] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int) or isinstance(item.get("id"), bool):
            return None
        ref, old, new = item.get("ref"), item.get("old"), item.get("new")
        if not (isinstance(ref, str) and isinstance(old, str) and isinstance(new, str)):
            return None
        out[item["id"]] = (ref, old, new)
    return out


def check(services: Services, session: Session, req: HookRequest) -> Checked:
    """Check every state file of the request by its seal and shape; log and list what fails."""
    done = Checked()
    if not req.state:
        return done
    cfg = services.config.service
    token = service_token(cfg.hook_token_file, cfg.hook_token_env)
    for f in req.state:
        why = _seal_problem(f, req.repo, token)
        if why is None and f.kind == hookspool.SPOOL:
            try:
                done.spooled.append(SpooledIn.model_validate(f.record))
                continue
            except ValidationError as exc:
                why = reason(Code.HOOK_STATE_MALFORMED, f"{f.file}: sealed, but not a spooled refusal "
                             f"({exc.errors()[0]['msg']}): set aside")
        elif why is None:
            entries = _intent_entries(f.record)
            if entries is not None:
                done.intents[f.file] = entries
                done.noted.update((i, float(f.record["at"])) for i in entries)
                continue
            why = reason(Code.HOOK_STATE_MALFORMED, f"{f.file}: sealed, but not a deploy-intent note: set aside")
        reject(session, req.repo, f.file, f.kind, why, f.model_dump())
        done.rejected.append(f.file)
    return done


def accepted_facts(services: Services, session: Session, req: HookRequest, checked: Checked,
                   asked_before: str) -> list[SettleIn]:
    """The settle facts to act on: each names an intent of an accepted note (or one the service asked
    about, decided before ``asked_before``) with the intent's own repo, ref, old and new."""
    rows = {i.id: i for i in q.intents(session, [f.id for f in req.settle])}
    out: list[SettleIn] = []
    for fact in req.settle:
        if fact.file and fact.file in checked.rejected:
            continue  # its note was set aside (and logged) already
        row = rows.get(fact.id)
        claimed = (fact.ref, fact.old, fact.new)
        if fact.file:
            listed = checked.intents.get(fact.file, {}).get(fact.id)
            ok = listed == claimed
            why = f"settle facts for deploy intent {fact.id} do not match the note {fact.file} they cite"
        else:
            ok = row is not None and row.decided_at < asked_before
            why = f"settle facts for deploy intent {fact.id}, which the service did not ask about"
        if ok and (row is None or (row.repo, row.ref, row.old, row.new) != (req.repo, *claimed)):
            ok, why = row is None, (f"settle facts name {fact.ref} {fact.old[:12]}..{fact.new[:12]} for deploy "
                                    f"intent {fact.id}, which is not that intent's update")
        if not ok:
            reject(session, req.repo, fact.file or "(settle facts)", hookspool.INTENT,
                   reason(Code.HOOK_STATE_MISMATCH, why + ": not trusted"), fact.model_dump(), fact.id)
            continue
        if row is not None:
            out.append(fact.model_copy(update={"noted_at": checked.noted.get(fact.id) if fact.file else None}))
    return out


def own_intents(req: HookRequest, checked: Checked) -> Sequence[int]:
    """post-receive's own intent ids, as far as an accepted note names them."""
    known = checked.intent_ids
    return [i for i in req.intents if i in known]
