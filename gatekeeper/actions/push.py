"""The two hook calls: decide a push (pre-receive) and record what git did (post-receive). SPEC §2, §7, §11.

pre-receive: gather the facts outside the write lock (the open CRs whose current revision touches a
path of the push, their approvals, the directory lookups: ``actions.review.facts``), call the pure
``policy.gate.decide``, then in one short write transaction re-check what was read and record the
decision: a deploy intent per protected update (``deploy.intent``) when the push is allowed,
``push.refused`` when it is not.

post-receive: confirm each intent by its id against the updates git made, or void it
(``actions.deploy``), and open or revise the CRs of topic branches. Intents left open are settled
later (``actions.settle``); refusals the hook made without the service are delivered from its spool
(``actions.spool``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from gatekeeper import itsm
from gatekeeper.actions import hookstate, spool
from gatekeeper.actions import review as rv
from gatekeeper.actions.changes import identify, open_or_revise, prepare, withdraw_in
from gatekeeper.actions.context import Services
from gatekeeper.actions.deploy import Settled, confirm, push_allowed, unrecorded, void
from gatekeeper.actions.payloads import HookRequest, UpdateIn
from gatekeeper.actions.settle import settle_from_facts
from gatekeeper.config import RepoConfig
from gatekeeper.errors import DirectoryUnavailable
from gatekeeper.gitio.pushinfo import option
from gatekeeper.itsm import ItsmUnavailable
from gatekeeper.ledger import events as ev
from gatekeeper.policy import emergency as em
from gatekeeper.policy import gate, refs
from gatekeeper.policy.categories import protecting, rule_of, tag_protected
from gatekeeper.policy.fingerprint import FileChange
from gatekeeper.policy.people import Identity
from gatekeeper.policy.reasons import Code, Reason, reason
from gatekeeper.policy.refs import branch_name
from gatekeeper.policy.states import DEPLOYABLE
from gatekeeper.store import changes as q
from gatekeeper.store import log, reviewing
from gatekeeper.store.tables import DeployIntent

# An open intent younger than this may belong to a push git is still applying: not settled by others.
SETTLE_GRACE = timedelta(seconds=120)


def _rule(repo: RepoConfig | None, ref: str) -> str:
    """``policy.refs``' rule for ``ref`` in ``repo`` (an unknown repo: every branch is a topic)."""
    if repo is None:
        return refs.TOPIC if branch_name(ref) else refs.UNLISTED
    return rule_of(ref, repo.protected, repo.protected_tags, repo.other_refs)


def _protected(repo: RepoConfig | None, ref: str) -> bool:
    """Whether the gate decides updates of ``ref`` before git makes them (protected branches and tags,
    and refs no rule allows: SPEC §12 "Refs")."""
    return _rule(repo, ref) in refs.GATED


def _protected_by(repo: RepoConfig, ref: str) -> tuple[str, ...]:
    tag = refs.tag_name(ref)
    if tag is not None:
        return tuple(p for p in repo.protected_tags if tag_protected(tag, [p]))
    return protecting(ref, repo.protected)


# --- pre-receive ---------------------------------------------------------------------------------

def decide_push(services: Services, req: HookRequest) -> dict[str, Any]:
    """pre-receive: allow only if every protected update passes the gate; record the decision."""
    req, who = identify(services, req)
    repo = services.config.repo(req.repo)
    rejected: list[str] = []
    if req.settle or req.state:
        with services.store.write() as session:
            rejected = housekeeping(services, session, req)[1].rejected
    decisions: list[tuple[UpdateIn, gate.Decision]]
    if repo is None:
        decisions = [(u, gate.refuse(reason(Code.GATE_UNKNOWN_REPO, f"refusing {u.ref}: repository {req.repo!r} is "
                                            "not in the service's policy (the hook and the service read different "
                                            "policy files?); ask your Gatekeeper administrator")))
                     for u in req.updates]
    else:
        with services.store.read() as session:  # every read outside the write lock (issue 18)
            claimed = q.claimed(session, repo.name)
            push = _push_facts(services, req, who)
            decisions = [(u, _decide(services, session, repo, u, push, claimed))
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
            log.append(session, refused, who.name)
    reasons = [r for _, d in decisions for r in d.reasons]
    return {"allow": allow, "messages": [r.message for r in reasons], "reasons": [r.to_payload() for r in reasons],
            "intents": ids, "rejected": rejected}


def _push_facts(services: Services, req: HookRequest, who: Identity) -> gate.PushFacts | gate.Decision:
    """Who pushed (resolved once, at the door) and the break-glass decision, asked of the directory
    once for the whole push (a directory outage refuses every protected update: fail closed, and the
    log says why)."""
    cfg = services.config
    if req.pusher and not who.known:
        try:  # an unknown pusher is refused; an unreachable directory is said so, not called unknown
            services.directory.get_user(req.pusher)
        except DirectoryUnavailable as exc:
            return gate.refuse(reason(Code.GATE_DIRECTORY_UNAVAILABLE, f"{exc.message}; approvals cannot be "
                                      "re-checked (fail closed)"))
    try:
        emergency = em.NOT_REQUESTED
        wanted = option(req.push_options, "emergency")
        if who.known and wanted is not None:
            emergency = em.decide(wanted, cfg.roles.emergency, who.name, services.directory.memberships(who.name))
    except DirectoryUnavailable as exc:
        return gate.refuse(reason(Code.GATE_DIRECTORY_UNAVAILABLE, f"{exc.message}; approvals cannot be re-checked "
                                  "(fail closed)"))
    return gate.PushFacts(pusher=who, categories=cfg.categories, pusher_env=cfg.git.pusher_env, emergency=emergency)


def _decide(services: Services, session: Session, repo: RepoConfig, u: UpdateIn,
            push: gate.PushFacts | gate.Decision, claimed: dict[int, int]) -> gate.Decision:
    if isinstance(push, gate.Decision):  # the directory could not answer for the pusher
        return gate.refuse(*(Reason(r.code, f"refusing {u.ref}: {r.message}") for r in push.reasons))
    facts = gate.UpdateFacts(ref=u.ref, old=u.old, new=u.new, changes=frozenset(c.file_change() for c in u.changes),
                             fast_forward=u.fast_forward, copy_of=tuple(u.copy_of),
                             protected_exists=u.protected_exists, protected_by=_protected_by(repo, u.ref),
                             rule=_rule(repo, u.ref), peeled=u.peeled, held_by=tuple(u.held_by))
    candidates: list[gate.Candidate] = []
    try:
        if push.pusher.known and not push.emergency.requested and not facts.deleted and not facts.copy_of \
                and facts.changes and facts.rule == refs.PROTECTED_BRANCH:
            candidates = _candidates(services, session, repo.name, branch_name(u.ref) or "", facts.changes, claimed)
    except (DirectoryUnavailable, ItsmUnavailable) as exc:  # fail closed, and say so in the log
        code = Code.GATE_ITSM_UNAVAILABLE if isinstance(exc, ItsmUnavailable) else Code.GATE_DIRECTORY_UNAVAILABLE
        return gate.refuse(reason(code, f"refusing {u.ref}: {exc.message}; approvals cannot be re-checked "
                                        "(fail closed)"))
    decision = gate.decide(facts, push, candidates)
    if decision.action == "emergency":
        decision = replace(decision, reasons=(*decision.reasons,
                                              em.retro_due(services.config.roles.emergency_review_hours)))
    return decision


def _candidates(services: Services, session: Session, repo: str, target: str, changes: frozenset[FileChange],
                claimed: dict[int, int]) -> list[gate.Candidate]:
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
        change = rv.facts(services, session, cr, rev, revisions=revisions[cr.id or 0],
                          approvals=given_all[cr.id or 0], need_emails=False)  # emails only to re-check approvals
        facts = gate.CandidateFacts(change=change, url=services.change_url(cr.id or 0),
                                    patch=q.patch(files[rev.id or 0]), claimed_by=claimed.get(cr.id or 0))
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
        stale = [reason(Code.GATE_CHANGED_MEANWHILE, f"refusing {u.ref}: change request {c.id} changed while this "
                        f"push was checked (now {now.get(c.id, ('gone', 0))[0]}, revision "
                        f"{now.get(c.id, ('', 0))[1]}); push again")
                 for c in d.deploys if now.get(c.id) != (DEPLOYABLE.value, c.revision)]
        stale += [reason(Code.GATE_BEING_DEPLOYED, f"refusing {u.ref}: change request {c.id} is being deployed by "
                         f"another push (deploy intent {claimed[c.id]}); push again when it is recorded")
                  for c in d.deploys if c.id in claimed]
        out.append((u, gate.refuse(*stale) if stale else d))
    return out


def _outcome(u: UpdateIn, d: gate.Decision, intent_id: int | None = None) -> ev.RefOutcome:
    return ev.RefOutcome(ref=u.ref, old=u.old, new=u.new, allow=d.allow, deploys=tuple(c.id for c in d.deploys),
                         unapproved_ok=d.unapproved_ok, reasons=d.reasons,
                         approvals={str(c.id): list(c.approvals) for c in d.deploys}, intent_id=intent_id)


def _record_intents(services: Services, session: Session, repo: RepoConfig, req: HookRequest,
                    decisions: list[tuple[UpdateIn, gate.Decision]]) -> list[dict[str, Any]]:
    """One ``deploy.intent`` entry and row per protected update, in the transaction that decided."""
    now = log.utc_now()
    pusher = req.pusher or ""
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
            action=d.action, unapproved_ok=d.unapproved_ok, emergency=grant, messages=d.messages, reasons=d.reasons,
            changes=tuple(ev.CountedChange(change_id=c.id, revision=c.revision, revision_id=c.revision_id,
                                           fingerprint=c.fingerprint, approvals=c.approvals,
                                           ticket_state=c.ticket_state) for c in d.deploys))
        entry = log.append(session, intent, pusher, [c.id for c in d.deploys], ts=now)
        row.decision, row.decision_seq = q.dumps(intent.to_payload()), entry.seq
        ids.append({"id": row.id, "ref": u.ref, "old": u.old, "new": u.new})
    return ids


# --- post-receive --------------------------------------------------------------------------------

def record_push(services: Services, req: HookRequest) -> dict[str, Any]:
    """post-receive: confirm or void this push's intents, settle stale ones, open/revise CRs for topics,
    and log the updates of refs no gate decides (``ref.updated``): every ref update is in the log."""
    req, _ = identify(services, req)
    repo = services.config.repo(req.repo)
    if repo is None:
        return {"messages": [f"repository {req.repo!r} is not in the service's policy; nothing recorded (the hook "
                             "and the service read different policy files?); ask your Gatekeeper administrator"]}
    messages: list[str] = []
    rejected: list[str] = []
    handled: set[int] = set(req.intents) | {f.id for f in req.settle}
    # Protected refs first, in their own transaction: a topic branch moved in the same push must not
    # change what is recorded, and a failure on a topic branch must not lose a deployment record.
    if req.intents or req.settle or req.state or any(_protected(repo, u.ref) for u in req.updates):
        with services.store.write() as session:
            lines, checked = housekeeping(services, session, req)
            messages.extend(_settle_push(services, session, repo, req, checked))
            messages.extend(lines)
            rejected = checked.rejected
    # The slow part of each revision (format analysis, directory lookups) before the write lock.
    prepared = {u.ref: prepare(services, u, req.pusher) for u in req.updates
                if req.pusher and u.changes and not u.deleted and _rule(repo, u.ref) == refs.TOPIC}
    contents = {sha: data for p in prepared.values() for sha, data in p.contents.items()}
    if contents:  # by blob id, not evidence: kept before (and outside) the log's write lock
        with services.store.side_write() as session:
            reviewing.save_contents(session, contents)
    with services.store.write() as session:
        unlogged = [ev.RefChange(u.ref, u.old, u.new, rule) for u in req.updates
                    if (rule := _rule(repo, u.ref)) in (refs.TAG, refs.LISTED)]
        for u in req.updates:
            if _rule(repo, u.ref) == refs.TOPIC:
                lines, recorded = _topic(services, session, req, u, prepared.get(u.ref))
                messages.extend(lines)
                if not recorded:
                    unlogged.append(ev.RefChange(u.ref, u.old, u.new, refs.TOPIC))
        if unlogged:
            log.append(session, ev.RefUpdated(repo=repo.name, pusher=req.pusher or "", refs=tuple(unlogged)),
                       req.pusher or "")
    cutoff = (datetime.now(UTC) - SETTLE_GRACE).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with services.store.read() as session:  # a hint for the hook (it settles them by the reflog): not under the lock
        unsettled = [{"id": i, "ref": ref, "old": old, "new": new}
                     for i, ref, old, new, at in q.open_intents_brief(session, repo.name)
                     if i not in handled and at < cutoff]
    return {"messages": messages, "unsettled": unsettled, "rejected": rejected}


def _topic(services: Services, session: Session, req: HookRequest, u: UpdateIn, prepared: Any
           ) -> tuple[list[str], bool]:
    """A topic branch update: a CR revision, a withdrawal, or nothing; and whether a log entry records it."""
    if u.deleted:
        crs = q.open_for_topic_any_target(session, req.repo, u.ref)
        for cr in crs:
            withdraw_in(session, cr, req.pusher or "", f"topic branch {u.ref} deleted")
        return [f"change request {cr.id} withdrawn: its topic branch was deleted" for cr in crs], bool(crs)
    if not req.pusher:
        envs = ", ".join(services.config.git.pusher_env)
        return [f"{u.ref}: accepted, but no change request opened: no pusher identity; the git server must set "
                f"one of {envs} (for a local push: export GATEKEEPER_USER=<your username>), then push a new "
                "commit"], False
    revised, lines = open_or_revise(services, session, req.repo, u, req.pusher, req.push_options, prepared=prepared)
    return lines, revised is not None


def _settle_push(services: Services, session: Session, repo: RepoConfig, req: HookRequest,
                 checked: hookstate.Checked) -> list[str]:
    """This push's intents (ids its own sealed note names): confirmed for the updates git made, by
    post-receive's own ``old new ref`` lines, voided otherwise."""
    own = {i.id: i for i in q.intents(session, hookstate.own_intents(req, checked)) if i.repo == repo.name}
    open_ = [i for i in q.open_intents(session, repo.name) if i.id not in own]
    done = Settled()
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
            done.lines.extend(unrecorded(session, repo, u, req.pusher or ""))
        else:
            confirm(services, session, repo, intent, u, "post-receive", done)
    for intent in own.values():
        if intent.state == q.INTENT_OPEN:
            void(session, intent, None, f"git did not update {intent.ref} (the push's post-receive does not "
                 "list it: a lost race or a refusing update hook)", "post-receive")
    push_allowed(session, req.repo, req.pusher, req.push_options, done, "post-receive")
    return done.lines


def housekeeping(services: Services, session: Session, req: HookRequest) -> tuple[list[str], hookstate.Checked]:
    """What earlier hook runs left, checked by its seal (``actions.hookstate``): stale intents settled
    from the refs' reflogs, spooled refusals logged; what fails is logged and set aside."""
    repo = services.config.repo(req.repo)
    checked = hookstate.check(services, session, req)
    cutoff = (datetime.now(UTC) - SETTLE_GRACE).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    facts = hookstate.accepted_facts(services, session, req, checked, cutoff) if req.settle else []
    lines = settle_from_facts(services, session, repo, facts, "hook") if repo is not None and facts else []
    lines += spool.deliver(session, req.repo, checked.spooled)
    if checked.rejected:
        lines.append(f"{len(checked.rejected)} file(s) of the hook's state failed their seal and were set aside "
                     "(logged as hook.state_rejected)")
    return lines, checked
