"""The two hook calls: decide a push (pre-receive) and record it (post-receive). SPEC §2, §7."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from gatekeeper import itsm
from gatekeeper.actions import review as rv
from gatekeeper.actions.changes import identify, open_or_revise, withdraw_in
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import HookRequest, UpdateIn
from gatekeeper.config import RepoConfig
from gatekeeper.errors import DirectoryUnavailable
from gatekeeper.gitio.pushinfo import option
from gatekeeper.itsm import ItsmUnavailable
from gatekeeper.ledger import entry as kinds
from gatekeeper.policy import gate
from gatekeeper.policy.categories import branch_name, classify, is_protected, merge_rules, protecting
from gatekeeper.policy.fingerprint import FileChange
from gatekeeper.policy.paths import malformed
from gatekeeper.policy.sod import describe_missing
from gatekeeper.policy.states import State
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import Deployment


def _protected(repo: RepoConfig | None, ref: str) -> bool:
    branch = branch_name(ref)
    return bool(repo and branch and is_protected(branch, repo.protected))


def decide_push(services: Services, req: HookRequest) -> dict[str, Any]:
    """pre-receive: allow only if every protected update passes the gate; log the decision."""
    req = identify(services, req)
    repo = services.config.repo(req.repo)
    messages: list[str] = []
    refs: list[dict[str, Any]] = []
    allow = True
    with services.store.write() as session:
        for u in req.updates:
            if repo is None:
                result = gate.GateResult(False, (f"refusing {u.ref}: repository {req.repo!r} is not in the service's "
                                                 "policy (the hook and the service read different policy files?); "
                                                 "ask your Gatekeeper administrator",))
            elif not _protected(repo, u.ref):
                continue
            else:
                try:
                    result = _gate(services, session, repo, u, req.pusher, req.push_options)
                except (DirectoryUnavailable, ItsmUnavailable) as exc:  # fail closed, and say so in the log
                    result = gate.GateResult(False, (f"refusing {u.ref}: {exc.message}; approvals cannot be "
                                                     "re-checked (fail closed)",))
            allow = allow and result.allow
            messages.extend(result.messages)
            refs.append({"ref": u.ref, "old": u.old, "new": u.new, "allow": result.allow,
                         "deploys": list(result.deployed), "unapproved_ok": list(result.unapproved_ok),
                         "reasons": list(result.messages),
                         "approvals": {str(cid): list(a) for cid, a in result.approvals},
                         **_ticket_states(services, session, result.deployed)})
        log.append(session, kinds.PUSH_ALLOWED if allow else kinds.PUSH_REFUSED, req.pusher or "(unknown)", {
            "repo": req.repo, "pusher": req.pusher, "push_options": req.push_options, "refs": refs,
            "emergency": option(req.push_options, "emergency"),
        }, [cid for r in refs for cid in r["deploys"]])
    return {"allow": allow, "messages": messages}


def _ticket_states(services: Services, session: Session, deployed: tuple[int, ...]) -> dict[str, Any]:
    """The ITSM ticket states the gate saw for the CRs it lets through (SPEC §11), for the log entry."""
    if services.config.itsm is None or not deployed:
        return {}
    crs = [q.get(session, cid) for cid in deployed]
    return {"ticket_states": {str(cr.id): {"ticket": cr.ticket, "state": cr.ticket_state} for cr in crs if cr}}


def _emergency_check(services: Services, pusher: str, options: list[str]) -> tuple[bool, str, list[Any]]:
    """Break-glass (SPEC §7): a reason is required and the pusher must be in ``roles.emergency`` now.

    Returns ``(allowed, reason or refusal, memberships used)``; the memberships go into the log entry.
    """
    reason = (option(options, "emergency") or "").strip()
    if not reason:
        return False, 'gatekeeper.emergency needs a reason: git push -o gatekeeper.emergency="why"', []
    roles = services.config.roles.emergency
    if not roles:
        return False, "emergency changes are disabled (roles.emergency names no group)", []
    memberships = [m for m in services.directory.memberships(pusher) if m.group in roles]
    if not memberships:
        return False, f"{pusher} may not push emergency changes (not in {' or '.join(roles)})", []
    return True, reason, memberships


def _gate(services: Services, session: Session, repo: RepoConfig, u: UpdateIn, pusher: str | None,
          options: list[str]) -> gate.GateResult:
    ref = u.ref
    if not pusher:
        envs = ", ".join(services.config.git.pusher_env)
        return gate.GateResult(False, (f"refusing {ref}: no pusher identity; the git server must set one of "
                                       f"{envs} (for a local push: export GATEKEEPER_USER=<your username>)",))
    if services.directory.canonical(pusher) is None:  # fail closed: SoD cannot compare an unknown pusher
        return gate.GateResult(False, (f"refusing {ref}: pusher {pusher!r} is not a directory user; the git "
                                       "server must pass the directory username",))
    bad = malformed({c.path for c in u.changes})
    if bad:  # whatever fsck said, and even under break-glass: such a path is never a legitimate change
        return gate.GateResult(False, tuple(f"refusing {ref}: {b}" for b in bad))
    if option(options, "emergency") is not None:
        ok, text, _ = _emergency_check(services, pusher, options)
        if not ok:
            return gate.GateResult(False, (f"refusing {ref}: {text}",))
        hours = services.config.roles.emergency_review_hours
        return gate.GateResult(True, (f"{ref}: EMERGENCY change by {pusher} passes the gate ({text}); "
                                      f"retrospective approval is due within {hours} hours",))
    if u.deleted:
        return gate.GateResult(False, (f"refusing {ref}: deleting a protected branch is not allowed (protected by "
                                       f"{', '.join(protecting(ref, repo.protected))}; its history is the record "
                                       "of what was deployed)",))
    if u.created:
        if u.copy_of:
            return gate.GateResult(True, (f"{ref}: created as an exact copy of {u.copy_of[0]}",))
        if u.protected_exists:
            return gate.GateResult(False, (f"refusing {ref}: it would be a new protected branch (it matches "
                                           f"{', '.join(protecting(ref, repo.protected))}), and a new protected "
                                           "branch must start as an exact copy of an existing one: push that "
                                           "branch's commit first (git push origin main:<branch>), then bring "
                                           "changes through change requests",))
    elif u.fast_forward is False:
        return gate.GateResult(False, (f"refusing {ref}: non-fast-forward update of a protected branch "
                                       "(history may not be rewritten); merge or rebase on top of it instead",))
    return _partition(services, session, repo, u)


def _partition(services: Services, session: Session, repo: RepoConfig, u: UpdateIn) -> gate.GateResult:
    cfg = services.config
    branch = branch_name(u.ref) or ""
    changes = {c.file_change(): c for c in u.changes}
    cats = {fc: classify(fc.path, cfg.categories) for fc in changes}
    free = [fc for fc in changes if not merge_rules(cats[fc])]
    needed = frozenset(fc for fc in changes if merge_rules(cats[fc]))
    candidates = _candidates(services, session, repo.name, branch, frozenset(changes))
    chosen = gate.partition(needed, frozenset(changes), candidates) if needed else []
    free_msgs = tuple(f"{fc.path} ({', '.join(c.name for c in cats[fc])}): no approval needed; logged"
                      for fc in sorted(free))
    if chosen is not None:
        deployed = tuple(c.id for c in chosen)
        msgs = tuple(f"{u.ref}: deploys change request {c.id} ({c.url})" for c in chosen)
        return gate.GateResult(True, msgs + free_msgs, deployed=deployed,
                               unapproved_ok=tuple(fc.path for fc in free),
                               approvals=tuple((c.id, c.approvals) for c in chosen))
    topic_hint = f"git push origin HEAD:refs/heads/<topic> -o gatekeeper.target={branch}"
    covered = {fc for c in candidates if c.ready and c.patch <= frozenset(changes) for fc in c.patch}
    blocking = sorted(needed - covered) or sorted(needed)
    lines = []
    for fc in blocking:
        rules = merge_rules(cats[fc])
        lines.append(gate.explain(fc, ", ".join(c.name for c in cats[fc]),
                                  describe_missing([(r.group, r.count) for r in rules]), candidates, u.ref,
                                  topic_hint))
    if not (needed - covered):
        lines.insert(0, f"refusing {u.ref}: the approved change requests overlap or are not included whole; "
                        "deploy each one whole, one push at a time (a later one that touches the same files must "
                        "be rebased and approved again)")
    return gate.GateResult(False, tuple(lines))


def _candidates(services: Services, session: Session, repo: str, target: str,
                changes: frozenset[FileChange]) -> list[gate.Candidate]:
    """Open CRs for the target that touch a path of the push; only those are re-checked in the directory."""
    paths = {fc.path for fc in changes}
    out = []
    for cr in q.open_for_target(session, repo, target):
        rev = q.current_revision(session, cr)
        patch = q.patch(q.files(session, rev.id or 0))
        if not any(fc.path in paths for fc in patch):
            continue
        review = rv.review(services, session, cr, rev)
        problems = review.problems()
        if cr.state == State.APPROVED and not problems:  # the ITSM is asked only about a CR otherwise ready
            problems = itsm.gate_problems(services.config.itsm, cr)
        if cr.state != State.APPROVED and not problems:
            problems = [f"change request {cr.id} is {cr.state}"]
        counted: tuple[dict[str, object], ...] = tuple({"username": slot.username, "group": slot.group,
                         "memberships": [m.to_dict() for m in review.memberships.get(slot.username, [])
                                         if m.group == slot.group]} for slot in review.slots)
        out.append(gate.Candidate(id=cr.id or 0, url=services.change_url(cr.id or 0), patch=patch,
                                  ready=cr.state == State.APPROVED and review.complete and not problems,
                                  problems=tuple(problems),
                                  approvals=counted))
    return out


def _deadline(services: Services, now: datetime | str | None = None) -> str:
    """When retrospective approval is due: ``emergency_review_hours`` after the deployment (RFC 3339 UTC)."""
    if isinstance(now, str):
        now = datetime.fromisoformat(now.replace("Z", "+00:00"))
    now = (now or datetime.now(UTC)).astimezone(UTC)
    due = now + timedelta(hours=services.config.roles.emergency_review_hours)
    return due.strftime("%Y-%m-%dT%H:%M:%SZ")


def record_push(services: Services, req: HookRequest) -> dict[str, Any]:
    """post-receive: open/revise CRs for topic branches, record deployments to protected ones."""
    req = identify(services, req)
    repo = services.config.repo(req.repo)
    messages: list[str] = []
    if repo is None:
        return {"messages": [f"repository {req.repo!r} is not in the service's policy; nothing recorded (the hook "
                             "and the service read different policy files?); ask your Gatekeeper administrator"]}
    with services.store.write() as session:
        for u in req.updates:
            if branch_name(u.ref) is None:
                continue
            if _protected(repo, u.ref):
                messages.extend(_deployed(services, session, repo, u, req))
            elif u.deleted:
                for cr in q.open_for_topic_any_target(session, req.repo, u.ref):
                    withdraw_in(session, cr, req.pusher or "(unknown)", f"topic branch {u.ref} deleted")
                    messages.append(f"change request {cr.id} withdrawn: its topic branch was deleted")
            elif not req.pusher:
                envs = ", ".join(services.config.git.pusher_env)
                messages.append(f"{u.ref}: accepted, but no change request opened: no pusher identity; the git "
                                f"server must set one of {envs} (for a local push: export GATEKEEPER_USER=<your "
                                "username>), then push a new commit")
            else:
                messages.extend(open_or_revise(services, session, req.repo, u, req.pusher, req.push_options)[1])
    return {"messages": messages}


def _deployed(services: Services, session: Session, repo: RepoConfig, u: UpdateIn, req: HookRequest) -> list[str]:
    now = log.utc_now()
    pusher = req.pusher or "(unknown)"
    commits = [c.sha for c in u.commits]
    if option(req.push_options, "emergency") is not None:
        ok, reason, memberships = _emergency_check(services, pusher, req.push_options)
        if ok:
            return _emergency(services, session, repo, u, pusher, reason, memberships, commits)
    decision = _gate_decision(session, repo.name, u)
    if decision is not None:  # what pre-receive allowed is what was deployed: no second directory round
        gate_seq, deployed = decision
        result = gate.GateResult(True, (f"allowed by the gate at log seq {gate_seq}",), deployed=deployed)
    else:  # no recorded decision (fail_open, or the hook was bypassed): say what the gate would decide
        gate_seq, result = None, _gate(services, session, repo, u, req.pusher, req.push_options)
        deployed = result.deployed if result.allow else ()
    lines = []
    for cid in deployed:
        cr = q.get(session, cid)
        if cr is None:
            continue
        rev = q.current_revision(session, cr)
        cr.state, cr.deployed_at, cr.deployed_by, cr.deployed_commit, cr.updated_at = (
            State.DEPLOYED, now, pusher, u.new, now)
        entry = log.append(session, kinds.CHANGE_DEPLOYED, pusher, {
            "change_id": cid, "repo": repo.name, "ref": u.ref, "old": u.old, "new": u.new,
            "revision": rev.number, "fingerprint": rev.fingerprint, "commits": commits, "state": cr.state,
            "gate_seq": gate_seq,
        }, [cid], ts=now)
        session.add(Deployment(change_id=cid, repo=repo.name, ref=u.ref, old=u.old, new=u.new, pushed_by=pusher,
                               at=now, log_seq=entry.seq))
        lines.append(f"change request {cid} deployed to {u.ref} at {u.new[:12]}")
    if not deployed:
        # A copy, a no-approval change, or (should the gate have been bypassed) an unmatched update.
        entry = log.append(session, kinds.CHANGE_DEPLOYED, pusher, {
            "change_id": None, "repo": repo.name, "ref": u.ref, "old": u.old, "new": u.new, "commits": commits,
            "allowed_by_gate": result.allow, "reasons": list(result.messages), "gate_seq": gate_seq,
        }, ts=now)
        session.add(Deployment(change_id=None, repo=repo.name, ref=u.ref, old=u.old, new=u.new, pushed_by=pusher,
                               at=now, log_seq=entry.seq))
    return lines


def _gate_decision(session: Session, repo: str, u: UpdateIn, recent: int = 50) -> tuple[int, tuple[int, ...]] | None:
    """The latest ``push.allowed`` entry for exactly this ref update: (its seq, the CRs it deploys)."""
    from sqlmodel import col, select

    from gatekeeper.store.tables import ChangeLog

    rows = session.exec(select(ChangeLog).where(ChangeLog.kind == kinds.PUSH_ALLOWED)
                        .order_by(col(ChangeLog.seq).desc()).limit(recent)).all()
    for row in rows:
        payload = json.loads(row.payload)
        if payload.get("repo") != repo:
            continue
        for ref in payload.get("refs", []):
            if (ref.get("ref"), ref.get("old"), ref.get("new")) == (u.ref, u.old, u.new) and ref.get("allow"):
                return row.seq, tuple(ref.get("deploys", []))
    return None


def _emergency(services: Services, session: Session, repo: RepoConfig, u: UpdateIn, pusher: str, reason: str,
               memberships: list[Any], commits: list[str]) -> list[str]:
    """Record a break-glass deployment: an ``emergency`` CR due for retrospective approval (SPEC §7, §10).

    An update with no file changes (a deletion, a rewind) opens no CR but is still logged as
    ``emergency.deployed`` and recorded as a deployment, so reconciliation and the register see it.
    A CR whose categories need no approval has nothing to ratify and is retro-approved at once.
    """
    cr, lines = open_or_revise(services, session, repo.name, u, pusher, [], emergency_reason=reason)
    now = log.utc_now()
    deadline = _deadline(services, now)
    payload: dict[str, Any] = {
        "change_id": cr.id if cr else None, "repo": repo.name, "ref": u.ref, "old": u.old, "new": u.new,
        "reason": reason, "deadline": deadline if cr else None, "commits": commits,
        "memberships": [m.to_dict() for m in memberships]}
    if cr is not None:
        cr.emergency_deadline, cr.deployed_at, cr.deployed_by = deadline, now, pusher
        cr.deployed_commit = u.new
        if not rv.rules_of(services, cr):
            cr.state, cr.retro_approved_at = State.RETRO_APPROVED, now
        cr.updated_at = now
        payload["state"] = cr.state
    entry = log.append(session, kinds.EMERGENCY_DEPLOYED, pusher, payload, [cr.id or 0] if cr else [], ts=now)
    session.add(Deployment(change_id=cr.id if cr else None, repo=repo.name, ref=u.ref, old=u.old, new=u.new,
                           pushed_by=pusher, at=now, emergency=True, log_seq=entry.seq))
    if cr is None:
        return [f"EMERGENCY update of {u.ref} by {pusher} recorded ({reason}); no file changes, so no change "
                "request to approve"]
    url = services.change_url(cr.id or 0)
    if cr.state == State.RETRO_APPROVED:
        due = f"nothing to approve retrospectively (no approval rules apply): {url}"
    else:
        due = f"retrospective approval due by {deadline}: {url}"
    return [f"EMERGENCY change request {cr.id} deployed to {u.ref}: {reason}", due,
            *(ln for ln in lines[1:] if not ln.startswith("review: "))]
