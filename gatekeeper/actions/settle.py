"""Settling deploy intents left open (SPEC §11): by a later hook run or ``gatekeeper audit reconcile``.

An intent stays open when its push's post-receive never reached the service (the service was down,
git applied no update). Whoever finds it later reports what the ref's reflog records; the intent is
confirmed, voided or marked unproven from that (``policy.deploys.settle``), never decided again
(``actions.deploy``). Ancestry is never evidence (issue 22 item 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from gatekeeper.actions.context import Services
from gatekeeper.actions.deploy import Settled, confirm, push_allowed, unproven, void
from gatekeeper.actions.payloads import SettleIn
from gatekeeper.config import RepoConfig
from gatekeeper.policy import deploys
from gatekeeper.store import changes as q


def settle_from_facts(services: Services, session: Session, repo: RepoConfig, facts: Sequence[SettleIn],
                      settled_by: str) -> list[str]:
    """Settle open intents from what their refs' reflogs record (a later hook run, or ``audit reconcile``)."""
    done = Settled()
    for fact in facts:
        outcome = settle_intent(services, session, repo, fact, settled_by, done)
        if outcome is not None:
            done.lines.append(f"deploy intent {fact.id} {outcome}: {done.why}")
    push_allowed(session, repo.name, None, [], done, settled_by)
    return done.lines


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def settle_intent(services: Services, session: Session, repo: RepoConfig, fact: SettleIn, settled_by: str,
                  done: Settled | None = None) -> str | None:
    """Confirm, void or mark unproven one open intent; returns the outcome, or None when there is
    nothing to do (not this repo's, settled already, or unproven again)."""
    found = q.intents(session, [fact.id])
    if not found or found[0].repo != repo.name or found[0].state not in (q.INTENT_OPEN, q.INTENT_UNPROVEN):
        return None
    intent = found[0]
    if (intent.ref, intent.old, intent.new) != (fact.ref, fact.old, fact.new):
        return None  # actions.hookstate logged it; never settle an intent from another update's facts
    done = done if done is not None else Settled()
    since, slack = ((fact.noted_at, deploys.NOTED_SLACK) if fact.noted_at is not None
                    else (_epoch(intent.decided_at), deploys.SERVICE_SLACK))
    outcome, why = deploys.settle(since, slack, deploys.Reflog(fact.reflog, fact.first_at, tuple(fact.matches),
                                                                 fact.first_created))
    by = "a later hook run" if settled_by == "hook" else settled_by
    done.why = why
    if outcome == deploys.CONFIRMED:
        confirm(services, session, repo, intent, None, settled_by, done, note=f"confirmed by {by}: {why}",
                commits=fact.commits)
    elif outcome == deploys.VOIDED:
        void(session, intent, fact.actual, f"git did not make this update: {why} ({intent.ref} is at "
             f"{fact.actual or '(no such ref)'})", settled_by)
    elif intent.state == q.INTENT_OPEN:
        unproven(session, intent, fact.actual, why, settled_by)
    else:
        return None
    return outcome
