"""Opening and revising CRs from topic pushes, signing and withdrawing them (SPEC §1–§3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from gatekeeper.actions import review as rv
from gatekeeper.actions.analysis import analyze
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import SignRequest, UpdateIn
from gatekeeper.directory.base import User
from gatekeeper.errors import Conflict, Forbidden, InputError, NotFound
from gatekeeper.gitio.pushinfo import option
from gatekeeper.ledger import entry as kinds
from gatekeeper.policy import sod
from gatekeeper.policy.categories import classify, is_protected
from gatekeeper.policy.fingerprint import fingerprint
from gatekeeper.policy.states import SIGNABLE_STATES, State
from gatekeeper.store import changes as q
from gatekeeper.store import log
from gatekeeper.store.tables import Approval, ChangeFile, ChangeRequest, Revision

MAX_FINDING_LINES = 30


def open_or_revise(services: Services, session: Session, repo: str, update: UpdateIn, pusher: str,
                   options: Sequence[str], *, emergency_reason: str | None = None
                   ) -> tuple[ChangeRequest | None, list[str]]:
    """A topic push (or an emergency deployment) becomes a CR revision; returns it and the push messages."""
    cfg = services.config
    target = update.target if emergency_reason is None else update.ref.removeprefix("refs/heads/")
    repo_cfg = cfg.repo(repo)
    if not target or repo_cfg is None or not is_protected(target, repo_cfg.protected):
        return None, [f"{update.ref}: target {target!r} is not a protected branch of {repo}; no change request "
                      "opened (use -o gatekeeper.target=<protected branch>)"]
    if not update.changes:
        return None, [f"{update.ref}: no changes against {target}; no change request opened"]
    now = log.utc_now()
    patch = [c.file_change() for c in update.changes]
    fp = fingerprint(patch)
    classified = {c.path: classify(c.path, cfg.categories) for c in update.changes}
    cat_names = sorted({c.name for cats in classified.values() for c in cats})
    categories = [c for c in cfg.categories if c.name in cat_names]
    findings, semantic = analyze(cfg, update)
    known = services.directory.get_user(pusher) is not None
    memberships = services.directory.memberships(pusher) if known else []
    author_findings = (sod.author_findings(pusher, memberships, categories) if known
                       else [f"unauthorized author: {pusher} is not a directory user"])
    q.ensure_repo(session, repo, now)
    cr = None if emergency_reason is not None else q.open_for_topic(session, repo, update.ref, target)
    title = option(options, "title") or (update.commits[0].subject if update.commits else update.ref)
    ticket = option(options, "ticket")
    previous = q.current_revision(session, cr) if cr else None
    if cr is None:
        cr = ChangeRequest(repo=repo, topic_ref=update.ref, target=target, title=title[:500], ticket=ticket or "",
                           state=State.PENDING, requested_by=pusher, requested_at=now, updated_at=now)
        if emergency_reason is not None:
            cr.emergency, cr.emergency_reason, cr.state = True, emergency_reason, State.EMERGENCY
        session.add(cr)
        session.flush()
    elif previous and previous.head == update.new:
        return cr, [f"change request {cr.id} already has revision {previous.number} at {update.new[:12]}",
                    services.change_url(cr.id or 0)]
    number = (previous.number + 1) if previous else 1
    kept = previous is not None and previous.fingerprint == fp
    rev = Revision(change_id=cr.id or 0, number=number, fingerprint=fp, head=update.new,
                   base=update.base or "", pushed_by=pusher, pushed_at=now,
                   commits=q.dumps([c.model_dump() for c in update.commits]), findings=q.dumps(findings),
                   semantic_diff=q.dumps(semantic), sod_findings=q.dumps(author_findings))
    session.add(rev)
    session.flush()
    # One executemany, not an ORM object per file: a push may carry thousands of files.
    session.execute(insert(ChangeFile), [
        {"revision_id": rev.id, "path": c.path, "status": c.status, "old_blob": c.old_blob, "new_blob": c.new_blob,
         "old_mode": c.old_mode, "new_mode": c.new_mode, "categories": q.dumps([x.name for x in classified[c.path]])}
        for c in update.changes])
    q.index_revision(session, cr, rev.id or 0, [c.path for c in update.changes])  # the gate's path index
    cr.current_revision = number
    cr.categories = q.dumps(cat_names)
    cr.financial = any(c.financial for c in categories)
    cr.updated_at = now
    if option(options, "title"):
        cr.title = title[:500]
    if ticket:
        cr.ticket = ticket
    if not kept and cr.state in (State.APPROVED, State.REJECTED):
        cr.state, cr.approved_at = State.PENDING, None
    session.flush()
    review = rv.review(services, session, cr, rev)
    if cr.state == State.PENDING and review.complete:
        cr.state, cr.approved_at = State.APPROVED, now  # nothing to approve, nothing wrong
    kind = kinds.CHANGE_OPENED if number == 1 else kinds.CHANGE_REVISED
    payload: dict[str, Any] = {
        "change_id": cr.id, "repo": repo, "topic_ref": update.ref, "target": target, "revision": number,
        "fingerprint": fp, "head": update.new, "base": update.base, "pusher": pusher, "title": cr.title,
        "ticket": cr.ticket, "files": [{"path": c.path, "status": c.status,
                                        "categories": [x.name for x in classified[c.path]]} for c in update.changes],
        "errors": sum(1 for f in findings if f["severity"] == "error"),
        "warnings": sum(1 for f in findings if f["severity"] == "warning"),
        "author_memberships": [m.to_dict() for m in memberships], "sod_findings": author_findings,
        "state": cr.state, "approvals_kept": kept if number > 1 else None,
    }
    if emergency_reason is not None:
        payload["emergency_reason"] = emergency_reason
    log.append(session, kind, pusher, payload, [cr.id or 0])
    return cr, _push_messages(services, cr, number, fp, kept, previous is not None, review, findings)


def _push_messages(services: Services, cr: ChangeRequest, number: int, fp: str, kept: bool, revised: bool,
                   review: rv.Review, findings: list[dict[str, Any]]) -> list[str]:
    url = services.change_url(cr.id or 0)
    if revised:
        what = "approvals kept (same content)" if kept else "approvals reset (content changed)"
        lines = [f"change request {cr.id} revised: revision {number}, fingerprint {fp[:12]}; {what}"]
    else:
        lines = [f"change request {cr.id} opened: {cr.topic_ref} -> {cr.target}, revision {number}, "
                 f"fingerprint {fp[:12]}"]
    lines.append(f"review: {url}")
    for f in findings[:MAX_FINDING_LINES]:
        lines.append(f"{f['severity']}: {f['path']} {f['location']}: {f['message']}")
    if len(findings) > MAX_FINDING_LINES:
        lines.append(f"... and {len(findings) - MAX_FINDING_LINES} more findings (see {url})")
    if review.errors:
        lines.append("this change cannot be approved until its validation errors are fixed")
    lines.extend(review.author_findings)
    if review.missing and cr.state != State.EMERGENCY:
        lines.append("needs " + sod.describe_missing(review.missing))
    elif cr.state == State.APPROVED:
        lines.append("approved: ready to merge into " + cr.target)
    return lines


def load(session: Session, change_id: int) -> ChangeRequest:
    cr = q.get(session, change_id)
    if cr is None:
        raise NotFound(f"change request {change_id} not found")
    return cr


def sign(services: Services, change_id: int, signer: User, req: SignRequest) -> None:
    """Record one electronic signature (SPEC §3, §10): SoD is decided in the same transaction."""
    with services.store.write() as session:
        cr = load(session, change_id)
        if cr.state not in SIGNABLE_STATES:
            raise Conflict(f"change request {change_id} is {cr.state}; signatures are taken while it is pending "
                           "(or emergency, for retrospective approval)")
        rev = q.current_revision(session, cr)
        meanings = rv.meanings_of(services, cr)
        meaning = req.meaning or meanings[0]
        if meaning not in meanings:
            raise InputError(f"meaning must be one of: {', '.join(meanings)}")
        if req.decision == "reject" and not req.comment.strip():
            raise InputError("a comment is required to reject")
        review = rv.review(services, session, cr, rev)
        if req.decision == "approve" and review.errors:
            raise Forbidden(review.problems()[0] + "; it cannot be approved")
        if req.decision == "approve" and review.author_findings:
            raise Forbidden(review.author_findings[0] + "; the change cannot be approved")
        memberships = services.directory.memberships(signer.username)
        people = rv.people_of(session, cr)
        emap = rv.email_map(services, people)
        if req.decision == "approve":
            check = sod.check_signer(signer, memberships, people, emap, review.rules, review.slots, req.group)
        else:
            check = sod.check_rejecter(signer, memberships, people, emap, review.rules)
        if not check.allowed:
            raise Forbidden("; ".join(check.findings))
        now = log.utc_now()
        slots = [*review.slots, sod.Slot(signer.username, check.group or "")]
        if req.decision == "reject":
            if cr.state == State.PENDING:
                cr.state = State.REJECTED
        elif not sod.missing(review.rules, slots):
            if cr.state == State.EMERGENCY:
                cr.state, cr.retro_approved_at = State.RETRO_APPROVED, now
            else:
                cr.state, cr.approved_at = State.APPROVED, now
        cr.updated_at = now
        used = [m.to_dict() for m in check.memberships]
        entry = log.append(session, kinds.CHANGE_APPROVED if req.decision == "approve" else kinds.CHANGE_REJECTED,
                           signer.username, {
                               "change_id": cr.id, "revision": rev.number, "fingerprint": rev.fingerprint,
                               "signer": signer.username, "name": signer.name, "signer_dn": signer.dn,
                               "group": check.group, "decision": req.decision, "meaning": meaning,
                               "comment": req.comment, "memberships": used, "state": cr.state,
                           }, [cr.id or 0], ts=now)
        session.add(Approval(change_id=cr.id or 0, revision=rev.number, fingerprint=rev.fingerprint,
                             username=signer.username, name=signer.name, group=check.group or "",
                             decision=req.decision, meaning=meaning, comment=req.comment, signed_at=now,
                             memberships=q.dumps(used), log_seq=entry.seq))


def withdraw(services: Services, change_id: int, user: User, *, is_admin: bool = False, reason: str = "") -> None:
    with services.store.write() as session:
        cr = load(session, change_id)
        if cr.requested_by != user.username and not is_admin:
            raise Forbidden(f"only its author ({cr.requested_by}) or an admin can withdraw change request {change_id}")
        if cr.state not in (State.PENDING, State.APPROVED, State.REJECTED):
            raise Conflict(f"change request {change_id} is {cr.state} and cannot be withdrawn")
        withdraw_in(session, cr, user.username, reason or "withdrawn by its author")


def withdraw_in(session: Session, cr: ChangeRequest, actor: str, reason: str) -> None:
    now = log.utc_now()
    cr.state, cr.updated_at = State.WITHDRAWN, now
    q.unindex(session, cr.id or 0)
    log.append(session, kinds.CHANGE_WITHDRAWN, actor,
               {"change_id": cr.id, "reason": reason, "state": cr.state}, [cr.id or 0], ts=now)
