"""Settling deploy intents left open (SPEC §11): by a later hook run or ``gatekeeper audit reconcile``.

An intent stays open when its push's post-receive never reached the service (the service was down,
git applied no update). Whoever finds it later tells what the ref really holds; the intent is
confirmed or voided from that (``actions.deploy``), never decided again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from gatekeeper.actions.context import Services
from gatekeeper.actions.deploy import Settled, confirm, push_allowed, void
from gatekeeper.actions.payloads import SettleIn
from gatekeeper.config import RepoConfig
from gatekeeper.store import changes as q


def settle_from_facts(services: Services, session: Session, repo: RepoConfig, facts: Sequence[SettleIn],
                      settled_by: str) -> list[str]:
    """Settle open intents from what their refs really hold (a later hook run, or ``audit reconcile``)."""
    done = Settled()
    for fact in facts:
        outcome = settle_intent(services, session, repo, fact, settled_by, done)
        if outcome is not None:
            done.lines.append(f"deploy intent {fact.id} {outcome} from the ref's real value "
                              f"({fact.actual or 'no such ref'})")
    push_allowed(session, repo.name, None, [], done, settled_by)
    return done.lines


def settle_intent(services: Services, session: Session, repo: RepoConfig, fact: SettleIn, settled_by: str,
                  done: Settled | None = None) -> str | None:
    """Confirm or void one open intent from what the ref really holds; returns the outcome or None."""
    found = q.intents(session, [fact.id])
    if not found or found[0].repo != repo.name or found[0].state != q.INTENT_OPEN:
        return None
    intent = found[0]
    done = done if done is not None else Settled()
    if fact.reached:
        note = (f"confirmed by {'a later hook run' if settled_by == 'hook' else settled_by}: {intent.ref} is at "
                f"{fact.actual or '(deleted)'}, which includes {intent.new[:12]}")
        confirm(services, session, repo, intent, None, settled_by, done, note=note, commits=fact.commits)
        return q.INTENT_CONFIRMED
    void(session, intent, fact.actual, f"git did not make this update: {intent.ref} is at "
         f"{fact.actual or '(no such ref)'}, which does not include {intent.new[:12]}", settled_by)
    return q.INTENT_VOIDED
