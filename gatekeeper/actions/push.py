"""The two hook calls: decide a push (pre-receive) and record what git did (post-receive). SPEC §2, §7, §11.

pre-receive: gather the inputs outside the write lock (the open CRs whose current revision touches a
path of the push, their approvals, the directory lookups), call the pure ``policy.gate.decide``,
then in one short write transaction re-check what was read and record the decision: a deploy intent
per protected update (``deploy.intent``) when the push is allowed, ``push.refused`` when it is not.

post-receive: confirm each intent by its id against the updates git made (``change.deployed`` /
``emergency.deployed``, then ``push.allowed``) or void it (``deploy.voided``). It never decides
again. Intents left open (the service was down, git failed every update) are settled by a later hook
run from the ref's real value, or by ``gatekeeper audit reconcile``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from gatekeeper import itsm
from gatekeeper.actions import review as rv
from gatekeeper.actions.changes import identify, open_or_revise, prepare, withdraw_in
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import HookRequest, SettleIn, SpooledIn, UpdateIn
from gatekeeper.config import RepoConfig
from gatekeeper.directory.base import Directory, Membership, User
from gatekeeper.errors import DirectoryUnavailable, GatekeeperError
from gatekeeper.gitio.pushinfo import option
from gatekeeper.itsm import ItsmUnavailable
from gatekeeper.ledger import events as ev
from gatekeeper.policy import emergency as em
from gatekeeper.policy import gate, sod
from gatekeeper.policy.categories import branch_name, is_protected, protecting
from gatekeeper.policy.states import State
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import DeployIntent, Deployment

# An open intent younger than this may belong to a push git is still applying: not settled by others.
SETTLE_GRACE = timedelta(seconds=120)


def _protected(repo: RepoConfig | None, ref: str) -> bool:
    branch = branch_name(ref)
    return bool(repo and branch and is_protected(branch, repo.protected))


# --- pre-receive ---------------------------------------------------------------------------------

def decide_push(services: Services, req: HookRequest) -> dict[str, Any]:
    """pre-receive: allow only if every protected update passes the gate; record the decision."""
    req = identify(services, req)
    repo = services.config.repo(req.repo)
    if req.settle or req.spooled:
        with services.store.write() as session:
            _housekeeping(services, session, req)
    decisions: list[tuple[UpdateIn, gate.Decision]]
    if repo is None:
        decisions = [(u, gate.Decision(False, (f"refusing {u.ref}: repository {req.repo!r} is not in the service's "
                                               "policy (the hook and the service read different policy files?); "
                                               "ask your Gatekeeper administrator",))) for u in req.updates]
    else:
        memo = services.directory  # request-scoped memo (web.services): each question asked once per call
        with services.store.read() as session:  # every read outside the write lock (issue 18)
            claimed = q.claimed(session, repo.name)
            decisions = [(u, _decide(services, session, memo, repo, u, req, claimed))
                         for u in req.updates if _protected(repo, u.ref)]
    allow = all(d.allow for _, d in decisions)
    ids: list[dict[str, Any]] = []
    with services.store.write() as session:
        if allow and repo is not None:
            decisions = _recheck(session, repo.name, decisions)
            allow = all(d.allow for _, d in decisions)
        if allow and repo is not None:
            ids = _record_intents(services, session, repo, req, decisions)
        elif decisions:
            refused = ev.PushRefused(repo=req.repo, pusher=req.pusher, push_options=tuple(req.push_options),
                                     emergency=option(req.push_options, "emergency"),
                                     refs=tuple(_outcome(u, d) for u, d in decisions))
            log.append(session, refused.KIND, req.pusher or "(unknown)", refused.to_payload())
    messages = [m for _, d in decisions for m in d.messages]
    return {"allow": allow, "messages": messages, "intents": ids}


def _decide(services: Services, session: Session, memo: Directory, repo: RepoConfig, u: UpdateIn,
            req: HookRequest, claimed: dict[int, int]) -> gate.Decision:
    cfg = services.config
    facts = gate.UpdateFacts(ref=u.ref, old=u.old, new=u.new, changes=frozenset(c.file_change() for c in u.changes),
                             fast_forward=u.fast_forward, copy_of=tuple(u.copy_of),
                             protected_exists=u.protected_exists)
    try:
        pusher = req.pusher or ""
        pusher_known = bool(pusher) and memo.canonical(pusher) is not None
        emergency = em.NOT_REQUESTED
        wanted = option(req.push_options, "emergency")
        if pusher_known and wanted is not None:
            emergency = em.decide(wanted, cfg.roles.emergency, pusher, memo.memberships(pusher))
        candidates: list[gate.Candidate] = []
        if pusher_known and not emergency.requested and not facts.deleted and not facts.copy_of and facts.changes:
            candidates = _candidates(services, session, memo, repo.name, branch_name(u.ref) or "", facts.changes,
                                     claimed)
    except (DirectoryUnavailable, ItsmUnavailable) as exc:  # fail closed, and say so in the log
        return gate.Decision(False, (f"refusing {u.ref}: {exc.message}; approvals cannot be re-checked "
                                     "(fail closed)",))
    decision = gate.decide(facts, pusher=req.pusher, pusher_known=pusher_known, categories=cfg.categories,
                           candidates=candidates, emergency=emergency, pusher_env=cfg.git.pusher_env,
                           protected_by=tuple(protecting(u.ref, repo.protected)))
    if decision.action == "emergency":
        hours = cfg.roles.emergency_review_hours
        decision = gate.Decision(True, (*decision.messages, f"retrospective approval is due within {hours} hours"),
                                 action="emergency", emergency=decision.emergency)
    return decision


def _candidates(services: Services, session: Session, memo: Directory, repo: str, target: str,
                changes: frozenset[Any], claimed: dict[int, int]) -> list[gate.Candidate]:
    """The open CRs whose current revision touches a path of the push, assessed (four queries in all)."""
    rows = q.candidates_touching(session, repo, target, [fc.path for fc in changes])
    if not rows:
        return []
    cids = [cr.id or 0 for cr, _ in rows]
    files = q.files_by_revision(session, [rev.id or 0 for _, rev in rows])
    given_all = q.approvals_by_change(session, cids)
    revisions = q.revisions_by_change(session, cids)
    out = []
    for cr, rev in rows:
        given = tuple(sod.GivenApproval(a.username, a.group) for a in given_all[cr.id or 0]
                      if a.decision == "approve" and a.fingerprint == rev.fingerprint)
        signers: dict[str, tuple[User | None, tuple[Membership, ...]]] = {}
        for a in given:
            if a.username not in signers:
                user = memo.get_user(a.username)
                signers[a.username] = (user, tuple(memo.memberships(a.username)) if user else ())
        # The same people, canonical names and identity findings as signing (actions.review).
        people, known = rv.canonical_people(services, rv.people_of(session, cr, revisions[cr.id or 0]))
        emails = rv.email_map(services, people) if given else {}  # only needed to re-check approvals
        blocking, _ = sod.identity_findings(people, known, emails)
        errors = tuple(f for f in q.loads(rev.findings) if f.get("severity") == "error")
        facts = gate.CandidateFacts(
            id=cr.id or 0, url=services.change_url(cr.id or 0), state=cr.state, revision=rev.number,
            revision_id=rev.id or 0, fingerprint=rev.fingerprint, patch=q.patch(files[rev.id or 0]),
            rules=rv.rules_of(services, cr), given=given, signers=signers, people=tuple(people), emails=emails,
            errors=errors, author_findings=tuple(dict.fromkeys([*q.loads(rev.sod_findings), *blocking])),
            claimed_by=claimed.get(cr.id or 0))
        candidate = gate.assess(facts)
        if candidate.ready and services.config.itsm is not None:  # the ITSM is asked only about a ready CR
            problems = tuple(itsm.gate_problems(services.config.itsm, cr))
            candidate = gate.assess(replace(facts, ticket_problems=problems, ticket_state=cr.ticket_state or ""))
        out.append(candidate)
    return out


def _recheck(session: Session, repo: str, decisions: list[tuple[UpdateIn, gate.Decision]]
             ) -> list[tuple[UpdateIn, gate.Decision]]:
    """Under the write lock: the CRs to deploy are still approved at the revision checked, and unclaimed."""
    ids = [c.id for _, d in decisions for c in d.deploys]
    if not ids:
        return decisions
    now = q.gate_state(session, ids)
    claimed = q.claimed(session, repo)
    out = []
    for u, d in decisions:
        stale = [f"refusing {u.ref}: change request {c.id} changed while this push was checked "
                 f"(now {now.get(c.id, ('gone', 0))[0]}, revision {now.get(c.id, ('', 0))[1]}); push again"
                 for c in d.deploys if now.get(c.id) != (State.APPROVED.value, c.revision)]
        stale += [f"refusing {u.ref}: change request {c.id} is being deployed by another push (deploy intent "
                  f"{claimed[c.id]}); push again when it is recorded" for c in d.deploys if c.id in claimed]
        out.append((u, gate.Decision(False, tuple(stale)) if stale else d))
    return out


def _outcome(u: UpdateIn, d: gate.Decision, intent_id: int | None = None) -> ev.RefOutcome:
    return ev.RefOutcome(ref=u.ref, old=u.old, new=u.new, allow=d.allow, deploys=tuple(c.id for c in d.deploys),
                         unapproved_ok=d.unapproved_ok, reasons=d.messages,
                         approvals={str(c.id): list(c.approvals) for c in d.deploys}, intent_id=intent_id)


def _record_intents(services: Services, session: Session, repo: RepoConfig, req: HookRequest,
                    decisions: list[tuple[UpdateIn, gate.Decision]]) -> list[dict[str, Any]]:
    """One ``deploy.intent`` entry and row per protected update, in the transaction that decided."""
    now = log.utc_now()
    pusher = req.pusher or "(unknown)"
    ids = []
    for u, d in decisions:
        row = DeployIntent(repo=repo.name, ref=u.ref, old=u.old, new=u.new, pusher=pusher, decided_at=now,
                           decision_seq=0, emergency=d.action == "emergency", decision="{}")
        session.add(row)
        session.flush()
        grant = (ev.EmergencyGrant(reason=d.emergency.text,
                                   memberships=tuple(m.to_dict() for m in d.emergency.memberships))
                 if d.action == "emergency" else None)
        intent = ev.DeployIntent(
            intent_id=row.id or 0, repo=repo.name, ref=u.ref, old=u.old, new=u.new, pusher=pusher,
            action=d.action, unapproved_ok=d.unapproved_ok, emergency=grant, messages=d.messages,
            changes=tuple(ev.CountedChange(change_id=c.id, revision=c.revision, revision_id=c.revision_id,
                                           fingerprint=c.fingerprint, approvals=c.approvals,
                                           ticket_state=c.ticket_state) for c in d.deploys))
        payload = intent.to_payload()
        entry = log.append(session, intent.KIND, pusher, payload, [c.id for c in d.deploys], ts=now)
        row.decision, row.decision_seq = q.dumps(payload), entry.seq
        ids.append({"id": row.id, "ref": u.ref, "old": u.old, "new": u.new})
    return ids


# --- post-receive --------------------------------------------------------------------------------

@dataclass
class _Settled:
    """What one settling pass recorded, for ``push.allowed`` and the pusher's messages."""

    lines: list[str] = field(default_factory=list)
    confirmed: list[tuple[DeployIntent, ev.RefOutcome]] = field(default_factory=list)


def record_push(services: Services, req: HookRequest) -> dict[str, Any]:
    """post-receive: confirm or void this push's intents, settle stale ones, open/revise CRs for topics."""
    req = identify(services, req)
    repo = services.config.repo(req.repo)
    if repo is None:
        return {"messages": [f"repository {req.repo!r} is not in the service's policy; nothing recorded (the hook "
                             "and the service read different policy files?); ask your Gatekeeper administrator"]}
    messages: list[str] = []
    handled: set[int] = set(req.intents) | {f.id for f in req.settle}
    # Protected refs first, in their own transaction: a topic branch moved in the same push must not
    # change what is recorded, and a failure on a topic branch must not lose a deployment record.
    if req.intents or req.settle or req.spooled or any(_protected(repo, u.ref) for u in req.updates):
        with services.store.write() as session:
            messages.extend(_settle_push(services, session, repo, req))
            messages.extend(_housekeeping(services, session, req))
    # The slow part of each revision (format analysis, directory lookups) before the write lock.
    prepared = {u.ref: prepare(services, u, req.pusher) for u in req.updates
                if req.pusher and u.changes and not u.deleted and branch_name(u.ref) and not _protected(repo, u.ref)}
    with services.store.write() as session:
        for u in req.updates:
            if branch_name(u.ref) is None or _protected(repo, u.ref):
                continue
            if u.deleted:
                for cr in q.open_for_topic_any_target(session, req.repo, u.ref):
                    withdraw_in(session, cr, req.pusher or "(unknown)", f"topic branch {u.ref} deleted")
                    messages.append(f"change request {cr.id} withdrawn: its topic branch was deleted")
            elif not req.pusher:
                envs = ", ".join(services.config.git.pusher_env)
                messages.append(f"{u.ref}: accepted, but no change request opened: no pusher identity; the git "
                                f"server must set one of {envs} (for a local push: export GATEKEEPER_USER=<your "
                                "username>), then push a new commit")
            else:
                messages.extend(open_or_revise(services, session, req.repo, u, req.pusher, req.push_options,
                                               prepared=prepared.get(u.ref))[1])
        cutoff = (datetime.now(UTC) - SETTLE_GRACE).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        unsettled = [{"id": i, "ref": ref, "old": old, "new": new}
                     for i, ref, old, new, at in q.open_intents_brief(session, repo.name)
                     if i not in handled and at < cutoff]
    return {"messages": messages, "unsettled": unsettled}


def _settle_push(services: Services, session: Session, repo: RepoConfig, req: HookRequest) -> list[str]:
    """This push's intents: confirmed for the updates git made (post-receive's input), voided otherwise."""
    own = {i.id: i for i in q.intents(session, req.intents) if i.repo == repo.name}
    open_ = [i for i in q.open_intents(session, repo.name) if i.id not in own]
    done = _Settled()
    for u in req.updates:
        if not _protected(repo, u.ref):
            continue
        key = (u.ref, u.old, u.new)
        intent = next((i for i in own.values() if i.state == q.INTENT_OPEN and (i.ref, i.old, i.new) == key),
                      None) or next((i for i in open_ if i.state == q.INTENT_OPEN and (i.ref, i.old, i.new) == key),
                                    None)
        if intent is None and q.confirmed_intent(session, repo.name, u.ref, u.old, u.new) is not None:
            done.lines.append(f"{u.ref}: already recorded (its deploy intent was settled from the ref)")
        elif intent is None:
            done.lines.extend(_unrecorded(session, repo, u, req.pusher or "(unknown)"))
        else:
            _confirm(services, session, repo, intent, u, "post-receive", done)
    for intent in own.values():
        if intent.state == q.INTENT_OPEN:
            _void(session, intent, None, f"git did not update {intent.ref} (the push's post-receive does not "
                  "list it: a lost race or a refusing update hook)", "post-receive")
    _push_allowed(session, req.repo, req.pusher, req.push_options, done, "post-receive")
    return done.lines


def _housekeeping(services: Services, session: Session, req: HookRequest) -> list[str]:
    """Settle stale intents the hook found (from the refs' real values) and log spooled refusals."""
    repo = services.config.repo(req.repo)
    done = _Settled()
    if repo is not None:
        done.lines.extend(settle_from_facts(services, session, repo, req.settle, "hook"))
    for item in req.spooled:
        _deliver_spooled(session, req.repo, item)
    if req.spooled:
        done.lines.append(f"{len(req.spooled)} refusal(s) made while the service was unreachable are now logged")
    return done.lines


def settle_from_facts(services: Services, session: Session, repo: RepoConfig, facts: Sequence[SettleIn],
                      settled_by: str) -> list[str]:
    """Settle open intents from what their refs really hold (a later hook run, or ``audit reconcile``)."""
    done = _Settled()
    for fact in facts:
        outcome = settle_intent(services, session, repo, fact, settled_by, done)
        if outcome is not None:
            done.lines.append(f"deploy intent {fact.id} {outcome} from the ref's real value "
                              f"({fact.actual or 'no such ref'})")
    _push_allowed(session, repo.name, None, [], done, settled_by)
    return done.lines


def settle_intent(services: Services, session: Session, repo: RepoConfig, fact: SettleIn, settled_by: str,
                  done: _Settled | None = None) -> str | None:
    """Confirm or void one open intent from what the ref really holds; returns the outcome or None."""
    found = q.intents(session, [fact.id])
    if not found or found[0].repo != repo.name or found[0].state != q.INTENT_OPEN:
        return None
    intent = found[0]
    done = done if done is not None else _Settled()
    if fact.reached:
        note = (f"confirmed by {'a later hook run' if settled_by == 'hook' else settled_by}: {intent.ref} is at "
                f"{fact.actual or '(deleted)'}, which includes {intent.new[:12]}")
        _confirm(services, session, repo, intent, None, settled_by, done, note=note, commits=fact.commits)
        return q.INTENT_CONFIRMED
    _void(session, intent, fact.actual, f"git did not make this update: {intent.ref} is at "
          f"{fact.actual or '(no such ref)'}, which does not include {intent.new[:12]}", settled_by)
    return q.INTENT_VOIDED


def _deadline(services: Services, now: str) -> str:
    """When retrospective approval is due: ``emergency_review_hours`` after the deployment (RFC 3339 UTC)."""
    at = datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
    return (at + timedelta(hours=services.config.roles.emergency_review_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _confirm(services: Services, session: Session, repo: RepoConfig, intent: DeployIntent, u: UpdateIn | None,
             settled_by: str, done: _Settled, *, note: str = "", commits: Sequence[str] = ()) -> None:
    """Record the deployment the intent names (never re-decided): revision, fingerprint, approvals."""
    decided = ev.DeployIntent.from_payload(q.loads(intent.decision))
    now = log.utc_now()
    shas = tuple(c.sha for c in u.commits) if u is not None else tuple(commits)
    last = 0
    if decided.action == "emergency" and decided.emergency is not None:
        last = _emergency(services, session, repo, intent, decided.emergency, u, shas, settled_by, note, done)
    for c in decided.changes:
        cr = q.get(session, c.change_id)
        if cr is None:
            continue
        cr.state, cr.deployed_at, cr.deployed_by, cr.deployed_commit, cr.updated_at = (
            State.DEPLOYED, now, intent.pusher, intent.new, now)
        if c.ticket_state:  # the ITSM state the gate saw (SPEC §11)
            cr.ticket_state = c.ticket_state
        q.unindex(session, c.change_id)
        event = ev.ChangeDeployed(
            change_id=c.change_id, repo=repo.name, ref=intent.ref, old=intent.old, new=intent.new,
            revision=c.revision, fingerprint=c.fingerprint, approvals=c.approvals, commits=shas, state=cr.state,
            intent_id=intent.id, intent_seq=intent.decision_seq, settled_by=settled_by, note=note,
            ticket_state=c.ticket_state)
        entry = log.append(session, event.KIND, intent.pusher, event.to_payload(), [c.change_id], ts=now)
        session.add(Deployment(change_id=c.change_id, repo=repo.name, ref=intent.ref, old=intent.old,
                               new=intent.new, pushed_by=intent.pusher, at=now, log_seq=entry.seq))
        last = entry.seq
        done.lines.append(f"change request {c.change_id} deployed to {intent.ref} at {intent.new[:12]} "
                          f"(revision {c.revision}, fingerprint {c.fingerprint[:12]})")
    if decided.action in ("copy", "no-approval"):
        event = ev.ChangeDeployed(change_id=None, repo=repo.name, ref=intent.ref, old=intent.old, new=intent.new,
                                  commits=shas, allowed_by_gate=True, reasons=decided.messages, intent_id=intent.id,
                                  intent_seq=intent.decision_seq, settled_by=settled_by, note=note)
        entry = log.append(session, event.KIND, intent.pusher, event.to_payload(), ts=now)
        session.add(Deployment(change_id=None, repo=repo.name, ref=intent.ref, old=intent.old, new=intent.new,
                               pushed_by=intent.pusher, at=now, log_seq=entry.seq))
        last = entry.seq
    intent.state, intent.settled_at, intent.settled_seq = q.INTENT_CONFIRMED, now, last or None
    approvals = {str(c.change_id): list(c.approvals) for c in decided.changes}
    done.confirmed.append((intent, ev.RefOutcome(
        ref=intent.ref, old=intent.old, new=intent.new, allow=True, deploys=tuple(c.change_id for c in decided.changes),
        unapproved_ok=decided.unapproved_ok, reasons=decided.messages, approvals=approvals, intent_id=intent.id)))


def _emergency(services: Services, session: Session, repo: RepoConfig, intent: DeployIntent,
               grant: ev.EmergencyGrant, u: UpdateIn | None, commits: tuple[str, ...], settled_by: str, note: str,
               done: _Settled) -> int:
    """Record a break-glass deployment the gate allowed: an ``emergency`` CR due for retrospective approval.

    The decision and its memberships come from the intent (issue 11 item 6). An update with no file
    changes (a deletion, a rewind), or one settled by a later run that has no contents, opens no CR
    but is still logged as ``emergency.deployed``; so is one whose CR the directory outage kept from
    opening (the note says so). A CR whose categories need no approval is retro-approved at once.
    """
    cr, lines = None, list[str]()
    if u is not None and u.changes:
        try:
            with session.begin_nested():
                cr, lines = open_or_revise(services, session, repo.name, u, intent.pusher, [],
                                           emergency_reason=grant.reason)
        except GatekeeperError as exc:  # a directory outage must not lose the break-glass record
            note = (note + "; " if note else "") + f"emergency change request not opened: {exc.message}"
    elif u is None:
        note = (note + "; " if note else "") + "no change request opened (recorded without the push's contents)"
    else:
        note = (note + "; " if note else "") + "no file changes, so no change request to approve"
    now = log.utc_now()
    deadline = _deadline(services, now)
    if cr is not None:
        cr.emergency_deadline, cr.deployed_at, cr.deployed_by, cr.deployed_commit = (
            deadline, now, intent.pusher, intent.new)
        if not rv.rules_of(services, cr):
            cr.state, cr.retro_approved_at = State.RETRO_APPROVED, now
        cr.updated_at = now
    event = ev.EmergencyDeployed(
        change_id=cr.id if cr else None, repo=repo.name, ref=intent.ref, old=intent.old, new=intent.new,
        reason=grant.reason, deadline=deadline if cr else None, commits=commits, memberships=grant.memberships,
        state=cr.state if cr else None, intent_id=intent.id, intent_seq=intent.decision_seq, settled_by=settled_by,
        note=note)
    entry = log.append(session, event.KIND, intent.pusher, event.to_payload(), [cr.id or 0] if cr else [], ts=now)
    session.add(Deployment(change_id=cr.id if cr else None, repo=repo.name, ref=intent.ref, old=intent.old,
                           new=intent.new, pushed_by=intent.pusher, at=now, emergency=True, log_seq=entry.seq))
    if cr is None:
        done.lines.append(f"EMERGENCY update of {intent.ref} by {intent.pusher} recorded ({grant.reason}); {note}")
        return entry.seq
    url = services.change_url(cr.id or 0)
    due = (f"nothing to approve retrospectively (no approval rules apply): {url}"
           if cr.state == State.RETRO_APPROVED else f"retrospective approval due by {deadline}: {url}")
    done.lines.extend([f"EMERGENCY change request {cr.id} deployed to {intent.ref}: {grant.reason}", due,
                       *(ln for ln in lines[1:] if not ln.startswith("review: "))])
    return entry.seq


def _void(session: Session, intent: DeployIntent, actual: str | None, reason: str, settled_by: str) -> None:
    now = log.utc_now()
    event = ev.DeployVoided(intent_id=intent.id or 0, intent_seq=intent.decision_seq, repo=intent.repo,
                            ref=intent.ref, old=intent.old, new=intent.new, actual=actual, reason=reason,
                            settled_by=settled_by, change_ids=tuple(q.intent_change_ids(intent)))
    entry = log.append(session, event.KIND, intent.pusher, event.to_payload(), event.change_ids, ts=now)
    intent.state, intent.settled_at, intent.settled_seq = q.INTENT_VOIDED, now, entry.seq


def _unrecorded(session: Session, repo: RepoConfig, u: UpdateIn, pusher: str) -> list[str]:
    """A protected update git made with no gate decision behind it (fail_open, or the hook bypassed).

    Recorded as it happened — not as allowed — so reconciliation and the register flag it.
    """
    now = log.utc_now()
    event = ev.ChangeDeployed(change_id=None, repo=repo.name, ref=u.ref, old=u.old, new=u.new,
                              commits=tuple(c.sha for c in u.commits), allowed_by_gate=False,
                              reasons=("no gate decision (deploy intent) recorded for this update",))
    entry = log.append(session, event.KIND, pusher, event.to_payload(), ts=now)
    session.add(Deployment(change_id=None, repo=repo.name, ref=u.ref, old=u.old, new=u.new, pushed_by=pusher,
                           at=now, log_seq=entry.seq))
    return [f"{u.ref}: updated without a recorded gate decision; logged for reconciliation"]


def _push_allowed(session: Session, repo: str, pusher: str | None, options: Sequence[str], done: _Settled,
                  settled_by: str) -> None:
    """``push.allowed`` names only updates git made (issue 11 item 7): one entry per settling pass."""
    if not done.confirmed:
        return
    first = done.confirmed[0][0]
    grant = next((ev.DeployIntent.from_payload(q.loads(i.decision)).emergency for i, _ in done.confirmed
                  if i.emergency), None)
    event = ev.PushAllowed(repo=repo, pusher=pusher or first.pusher, push_options=tuple(options),
                           emergency=grant.reason if grant else None,
                           refs=tuple(outcome for _, outcome in done.confirmed), settled_by=settled_by)
    log.append(session, event.KIND, pusher or first.pusher, event.to_payload(),
               [cid for _, o in done.confirmed for cid in o.deploys])
    done.confirmed.clear()


def _deliver_spooled(session: Session, repo: str, item: SpooledIn) -> None:
    event = ev.PushRefused(repo=repo, pusher=item.pusher, push_options=tuple(item.push_options),
                           emergency=option(item.push_options, "emergency"), spooled=True,
                           refused_at=item.refused_at,
                           refs=tuple(ev.RefOutcome(ref=r.ref, old=r.old, new=r.new, allow=False,
                                                    reasons=(item.reason or "service unreachable",))
                                      for r in item.refs))
    log.append(session, event.KIND, item.pusher or "(unknown)", event.to_payload())
