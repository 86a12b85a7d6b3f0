"""Opening and revising CRs from topic pushes, and withdrawing them (SPEC §1–§3); signing is
``actions.signing``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from gatekeeper.actions import review as rv
from gatekeeper.actions.analysis import analyze
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import HookRequest, UpdateIn
from gatekeeper.config import RepoConfig
from gatekeeper.directory.identify import resolve_address as identify_address
from gatekeeper.directory.identify import resolve_username as identify_user
from gatekeeper.errors import Conflict, DirectoryUnavailable, Forbidden, NotFound
from gatekeeper.gitio.pushinfo import option
from gatekeeper.ledger import events as ev
from gatekeeper.policy import rules as policy_rules
from gatekeeper.policy import sod, states, tickets, titles
from gatekeeper.policy.approvals import describe_missing
from gatekeeper.policy.categories import classify, default_target, valid_target
from gatekeeper.policy.fingerprint import fingerprint
from gatekeeper.policy.paths import malformed
from gatekeeper.policy.people import Identity, Membership, User, unknown
from gatekeeper.policy.reasons import Code, Reason, messages
from gatekeeper.policy.refs import HEADS, is_pattern
from gatekeeper.policy.review import Review
from gatekeeper.policy.rules import DEFAULT_CATEGORY, Category, Role, merge_rules
from gatekeeper.policy.states import State
from gatekeeper.store import changes as q
from gatekeeper.store import log, reviewing
from gatekeeper.store.tables import ChangeFile, ChangeRequest, Revision

MAX_FINDING_LINES = 30


def identify(services: Services, req: HookRequest) -> tuple[HookRequest, Identity]:
    """Who pushed, resolved once at the door (SPEC §11, issue 23 item 3): a directory user, whose own
    spelling the request then carries (``Carol`` from REMOTE_USER becomes ``carol``) before anything
    is stored or compared, or an explicit unknown (the name as sent; none when none was sent). A
    directory that cannot answer right now leaves it unknown: the gate refuses it (and logs why)
    and a topic push opens a CR that cannot be approved (``sod.unknown_pusher``)."""
    if not req.pusher:
        return req, unknown()
    try:
        who = identify_user(services.directory, req.pusher)
    except DirectoryUnavailable:
        return req, unknown(req.pusher)
    return (req.model_copy(update={"pusher": who.name}) if who.name != req.pusher else req), who


def _no_target(repo: str, repo_cfg: RepoConfig | None, target: str | None) -> str:
    """Why a topic push has no target branch to aim a change request at."""
    if repo_cfg is None:
        return f"repository {repo!r} is not in the service's policy"
    patterns = ", ".join(repo_cfg.protected)
    if not target:
        if plain := default_target(repo_cfg.protected):  # a hook normally sends it: a client that did not
            return f"the update names no target branch (Gatekeeper's hook would have aimed it at {plain})"
        return f"no target branch was given and {repo} has no plain protected branch to default to ({patterns})"
    if is_pattern(target):
        return f"target {target!r} is a pattern; name one branch (protected in {repo}: {patterns})"
    return f"target {target!r} is not a protected branch of {repo} (protected: {patterns})"


@dataclass(frozen=True)
class Prepared:
    """What a revision needs that does not depend on the store: worked out before the write lock."""

    fingerprint: str
    classified: dict[str, tuple[Category, ...]]
    cat_names: list[str]
    categories: list[Category]
    findings: list[dict[str, Any]]
    semantic: list[dict[str, Any]]
    memberships: list[Membership]
    author_findings: list[Reason]
    contents: dict[str, bytes]       # blob id -> content the hook sent (text and formatted files)
    lang: str | None = None          # the pusher's language for the push messages (None: read under the lock)


def prepare(services: Services, update: UpdateIn, pusher: str, *, offline: bool = False) -> Prepared:
    """Fingerprint, classification, format analysis and the pusher's directory facts of a topic update.

    The slow part of a revision (parsing and diffing formatted files, directory lookups) runs here,
    outside the serialised write transaction, so other pushes and signatures do not wait for it
    (issue 12's topic-push tail); it also asks the request's directory memo about the commits' people,
    so the review under the lock finds its answers there. ``offline``: without the directory (a
    break-glass record during an outage; SoD is checked when it is signed). A revision with no files
    (a break-glass deletion or rewind) gets the ``default`` category's rules.
    """
    cfg = services.config
    fp = fingerprint([c.file_change() for c in update.changes])
    classified = {c.path: classify(c.path, cfg.categories) for c in update.changes}
    cat_names = sorted({c.name for cats in classified.values() for c in cats}) or [DEFAULT_CATEGORY]
    categories = [c for c in cfg.categories if c.name in cat_names]
    findings, semantic = analyze(cfg, update)
    # A malformed path (issue 11 item 5) is an error finding: the CR is opened, visible, and blocked.
    findings[:0] = [{"path": c.path, "location": "path", "severity": "error", "code": Code.PATH_MALFORMED.value,
                     "message": m} for c in update.changes for m in malformed([c.path])]
    if offline:
        return Prepared(fp, classified, cat_names, categories, findings, semantic, [], [], _contents(update))
    known = services.directory.get_user(pusher) is not None
    memberships = services.directory.memberships(pusher) if known else []
    author_findings = (sod.author_findings(pusher, memberships, categories) if known
                       else [sod.unknown_pusher(pusher)])
    for c in update.commits:  # asked now, outside the lock: the review under it finds the answers memoised
        identify_address(services.directory, c.author_email, c.author_name)
        identify_address(services.directory, c.committer_email, c.committer_name)
    with services.store.read() as session:  # a preference, not evidence: read before the lock too
        lang = _language(services, session, pusher)
    return Prepared(fp, classified, cat_names, categories, findings, semantic, memberships, author_findings,
                    _contents(update), lang)


def _language(services: Services, session: Session, pusher: str) -> str:
    """The pusher's language, else ``[service] default_language`` (SPEC §12)."""
    from gatekeeper import i18n

    return i18n.language_of(session, pusher, services.config.service.languages,
                            services.config.service.default_language)


def _contents(update: UpdateIn) -> dict[str, bytes]:
    """Blob id -> content the hook sent (text and formatted files), for "changes since your last review"."""
    return {sha: data for c in update.changes if not c.binary
            for side, sha in (("old", c.old_blob), ("new", c.new_blob)) if (data := c.content(side)) is not None}


def open_or_revise(services: Services, session: Session, repo: str, update: UpdateIn, pusher: str,
                   options: Sequence[str], *, emergency_reason: str | None = None, emergency_what: str = "",
                   prepared: Prepared | None = None, offline: bool = False) -> tuple[ChangeRequest | None, list[str]]:
    """A topic push (or a break-glass update) becomes a CR revision; returns the CR (None when no
    revision was recorded) and the push messages.

    ``prepared``: ``prepare``'s result, when the caller worked it out before opening the transaction.
    ``emergency_reason``/``emergency_what``: a break-glass update of any protected ref, with what it
    did (``policy.emergency.describe``): always a CR, files or not (issue 22 item 4). ``offline``:
    recorded without asking the directory (an outage must not lose a break-glass record). A new
    ticket is a new revision even for the same head, and resets approvals (issue 22 item 5).
    """
    emergency = emergency_reason is not None
    target, refused = _target(services, repo, update, emergency)
    if refused:
        return None, [refused]
    p = prepared or prepare(services, update, pusher, offline=offline)
    now = log.utc_now()
    cr = None if emergency else q.open_for_topic(session, repo, update.ref, target)
    ticket = tickets.choose(option(options, "ticket"), (t for c in update.commits for t in c.change_tickets))
    previous = q.current_revision(session, cr) if cr else None
    subject = update.commits[0].subject if update.commits else None  # git log order: newest first
    named = (titles.Title(f"{emergency_what}: {subject}" if subject else emergency_what, titles.OPTION)
             if emergency else titles.choose(option(options, "title"), option(options, "description"), subject,
                                             update.ref, _title_of(cr, previous)))
    shown_ticket = ticket or (cr.ticket if cr else "")
    ticket_changed = previous is not None and shown_ticket != previous.ticket
    findings = [*p.findings, *ticket_findings(p.categories, shown_ticket, emergency)]
    if cr is None:  # written whole in one INSERT: every statement under the writer lock makes others wait
        q.ensure_repo(session, repo, now)
        cr = _new_change(session, ChangeRequest(
            repo=repo, topic_ref=update.ref, target=target, title=named.text, ticket=ticket or "",
            state=State.PENDING, requested_by=pusher, requested_at=now, updated_at=now, current_revision=1,
            categories=q.dumps(p.cat_names), financial=any(c.financial for c in p.categories)), emergency_reason)
    elif previous and previous.head == update.new and not ticket_changed:
        return None, [f"change request {cr.id} already has revision {previous.number} at {update.new[:12]}",
                      services.change_url(cr.id or 0)]
    number = (previous.number + 1) if previous else 1
    kept = previous is not None and previous.fingerprint == p.fingerprint and not ticket_changed
    rev = _add_revision(session, cr, update, p, number, findings, pusher, now, named, shown_ticket,
                        save_contents=prepared is None)
    title_was = cr.title if previous is not None and cr.title != named.text else None
    _advance(cr, p, number, named.text, shown_ticket, kept, now)
    session.flush()
    # A CR opened just now has this one revision and no signature: nothing to read back.
    fresh = previous is None
    review = None if offline else rv.review(services, session, cr, rev, revisions=[rev] if fresh else None,
                                            approvals=[] if fresh else None)
    if cr.state == State.PENDING and review is not None and review.complete:
        cr.state, cr.approved_at = State.APPROVED, now  # nothing to approve, nothing wrong
    _log_revision(session, cr, update, p, rev, findings, kept, emergency_reason, title_was, named.description,
                  ticket_changed)
    lang = p.lang or _language(services, session, pusher)
    reset = "ticket" if ticket_changed else "content"
    return cr, _push_messages(services, cr, number, p.fingerprint, kept, previous is not None, review, findings, lang,
                              reset)


def _new_change(session: Session, cr: ChangeRequest, emergency_reason: str | None) -> ChangeRequest:
    """Store a new CR (a break-glass one starts in ``emergency`` with its reason), with its id."""
    if emergency_reason is not None:
        cr.emergency, cr.emergency_reason, cr.state = True, emergency_reason, State.EMERGENCY
    session.add(cr)
    session.flush()
    return cr


def _advance(cr: ChangeRequest, p: Prepared, number: int, title: str, ticket: str, kept: bool, now: str) -> None:
    """The CR at its new revision ``number``: categories, title and ticket shown, and its state after a
    revision (``policy.states.after_revision``: approvals kept only for the same content and ticket)."""
    cr.current_revision = number
    cr.categories = q.dumps(p.cat_names)
    cr.financial = any(c.financial for c in p.categories)
    cr.updated_at = now
    cr.title = title
    cr.ticket = ticket
    if (after := states.after_revision(cr.state, kept)) != cr.state:
        cr.state, cr.approved_at = after, None


def _target(services: Services, repo: str, update: UpdateIn, emergency: bool) -> tuple[str, str]:
    """The branch a revision aims at (a break-glass update: the ref it changed; a branch by its name),
    or why no CR is opened."""
    if emergency:
        return update.ref.removeprefix(HEADS) if update.ref.startswith(HEADS) else update.ref, ""
    repo_cfg, target = services.config.repo(repo), update.target
    if repo_cfg is None or target is None or not valid_target(target, repo_cfg.protected):
        return "", (f"{update.ref}: no change request opened: {_no_target(repo, repo_cfg, target)}; to open one, "
                    "push a new commit to this branch with -o gatekeeper.target=<protected branch>")
    if not update.changes:
        return "", f"{update.ref}: no changes against {target}; no change request opened"
    return target, ""


def _add_revision(session: Session, cr: ChangeRequest, update: UpdateIn, p: Prepared, number: int,
                  findings: list[dict[str, Any]], pusher: str, now: str, named: titles.Title, ticket: str, *,
                  save_contents: bool) -> Revision:
    """Store revision ``number`` of ``cr`` with its title and files, and point the gate's path index at it.

    ``save_contents``: False when the caller keeps a prepared revision's contents outside the lock
    (``actions.push``); "changes since your last review" diffs revisions with them."""
    fp, classified, categories = p.fingerprint, p.classified, p.categories
    rev = Revision(change_id=cr.id or 0, number=number, fingerprint=fp, head=update.new,
                   base=update.base or "", pushed_by=pusher, pushed_at=now, ticket=ticket,
                   commits=q.dumps([c.model_dump() for c in update.commits]), findings=q.dumps(findings),
                   semantic_diff=q.dumps(p.semantic), sod_findings=q.dumps([r.to_payload() for r in p.author_findings]),
                   approvals_required=q.dumps([r.to_dict() for r in merge_rules(categories)]),  # policy in force
                   title=named.text, title_source=named.source, description=named.description)
    session.add(rev)
    if save_contents:
        reviewing.save_contents(session, p.contents)
    session.flush()
    if update.changes:  # one executemany, not an ORM object per file: a push may carry thousands of files
        session.execute(insert(ChangeFile), [
            {"revision_id": rev.id, "path": c.path, "status": c.status, "old_blob": c.old_blob,
             "new_blob": c.new_blob, "old_mode": c.old_mode, "new_mode": c.new_mode,
             "categories": q.dumps([x.name for x in classified[c.path]])} for c in update.changes])
    q.index_revision(session, cr, rev.id or 0, [c.path for c in update.changes],  # the gate's path index
                     replaces=number > 1)
    return rev


def _log_revision(session: Session, cr: ChangeRequest, update: UpdateIn, p: Prepared, rev: Revision,
                  findings: list[dict[str, Any]], kept: bool, emergency_reason: str | None, title_was: str | None,
                  description: str, ticket_changed: bool = False) -> None:
    """``change.opened`` (revision 1) or ``change.revised``, in the revision's transaction."""
    number, fp, classified = rev.number, p.fingerprint, p.classified
    revision = ev.ChangeOpened if number == 1 else ev.ChangeRevised
    log.append(session, revision(
        change_id=cr.id or 0, repo=cr.repo, topic_ref=update.ref, target=cr.target, revision=number, fingerprint=fp,
        head=update.new, base=update.base, pusher=rev.pushed_by, title=cr.title, ticket=cr.ticket,
        files=tuple(ev.FileRecord(c.path, c.status, tuple(x.name for x in classified[c.path])) for c in update.changes),
        errors=sum(1 for f in findings if f["severity"] == "error"),
        warnings=sum(1 for f in findings if f["severity"] == "warning"),
        author_memberships=tuple(m.to_dict() for m in p.memberships), sod_findings=tuple(p.author_findings),
        state=cr.state, approvals_kept=kept if number > 1 else None, emergency_reason=emergency_reason,
        categories=tuple(p.cat_names), financial=cr.financial,
        approvals_required=tuple(q.loads(rev.approvals_required)), title_was=title_was, description=description,
        ticket_changed=ticket_changed),
        rev.pushed_by, [cr.id or 0], ts=rev.pushed_at)  # = requested_at / approved_at: the register reads the log


def _title_of(cr: ChangeRequest | None, previous: Revision | None) -> titles.Title | None:
    """The current revision's title as ``policy.titles`` weighs it. A revision recorded before titles
    were kept per revision (migration 0011) counts as the author's own when it differs from its latest
    commit's subject (it came from ``gatekeeper.title``), else as the commit's."""
    if cr is None or previous is None:
        return None
    if previous.title_source:
        return titles.Title(previous.title or cr.title, previous.title_source, previous.description or "")
    commits = q.loads(previous.commits)
    subject = (commits[0].get("subject") or "") if commits else ""
    return titles.Title(cr.title, titles.COMMIT if cr.title == subject else titles.OPTION)


def ticket_findings(categories: Sequence[Any], ticket: str, emergency: bool) -> list[dict[str, Any]]:
    """SPEC §11: a missing or malformed ticket is a blocking finding (a warning on a break-glass CR,
    which cannot be revised to add one and must still be ratifiable)."""
    found = tickets.check(ticket, categories)
    return [tickets.TicketFinding(f.code, f.message, "warning" if emergency else "error").to_dict() for f in found]


def _push_messages(services: Services, cr: ChangeRequest, number: int, fp: str, kept: bool, revised: bool,
                   review: Review | None, findings: list[dict[str, Any]], lang: str = "en",
                   reset: str = "content") -> list[str]:
    """What the pusher reads after ``remote: gatekeeper:``, in their language; findings, SoD reasons and
    group names stay as the policy core words them."""
    from gatekeeper.i18n import translate

    url = services.change_url(cr.id or 0)
    if revised:
        what = (translate(lang, "approvals kept (same content)") if kept
                else translate(lang, "approvals reset (ticket changed)") if reset == "ticket"
                else translate(lang, "approvals reset (content changed)"))
        lines = [translate(lang, "change request %(id)s revised: revision %(n)s, fingerprint %(fp)s; %(what)s",
                           id=cr.id, n=number, fp=fp[:12], what=what)]
    else:
        lines = [translate(lang, "change request %(id)s opened: %(topic)s -> %(target)s, revision %(n)s, "
                                 "fingerprint %(fp)s", id=cr.id, topic=cr.topic_ref, target=cr.target, n=number,
                           fp=fp[:12])]
    lines.append(translate(lang, "review: %(url)s", url=url))
    for f in findings[:MAX_FINDING_LINES]:
        lines.append(f"{f['severity']}: {f['path']} {f['location']}: {f['message']}")
    if len(findings) > MAX_FINDING_LINES:
        lines.append(translate(lang, "... and %(n)s more findings (see %(url)s)",
                               n=len(findings) - MAX_FINDING_LINES, url=url))
    if review is None:
        return lines
    if review.errors:
        lines.append(translate(lang, "this change cannot be approved until its validation errors are fixed"))
    lines.extend(messages(review.author_findings))
    if review.missing and cr.state != State.EMERGENCY:
        lines.append(translate(lang, "needs %(rules)s", rules=describe_missing(review.missing)))
    elif cr.state == State.APPROVED:
        lines.append(translate(lang, "approved: ready to merge into %(target)s", target=cr.target))
    return lines


def load(session: Session, change_id: int) -> ChangeRequest:
    cr = q.get(session, change_id)
    if cr is None:
        raise NotFound(f"change request {change_id} not found")
    return cr


def withdrawal_refused(services: Services, cr: ChangeRequest, user: User) -> Reason | None:
    """Why ``user`` may not withdraw ``cr`` now (None: they may): ``policy.states.may_withdraw`` with the
    author's and the user's names (both the directory's own spelling, stored so at the door) and the
    user's roles looked up now. The action and the change page's button both ask this."""
    author = cr.requested_by
    held = policy_rules.roles_of((m.group for m in services.directory.memberships(user.username)),
                                 services.config.roles)
    return states.may_withdraw(cr.state, author, user.username, Role.ADMINS in held, cr.id or 0, cr.requested_by)


def withdraw(services: Services, change_id: int, user: User, *, reason: str = "") -> None:
    with services.store.write() as session:
        cr = load(session, change_id)
        refused = withdrawal_refused(services, cr, user)
        if refused is not None:
            error = Forbidden if refused.code == Code.CHANGE_NOT_AUTHOR else Conflict
            raise error(refused.message, reasons=(refused.to_payload(),))
        withdraw_in(session, cr, user.username, reason or "withdrawn by its author")


def withdraw_in(session: Session, cr: ChangeRequest, actor: str, reason: str) -> None:
    now = log.utc_now()
    cr.state, cr.updated_at = State.WITHDRAWN, now
    q.unindex(session, cr.id or 0)
    log.append(session, ev.ChangeWithdrawn(change_id=cr.id or 0, reason=reason, state=cr.state), actor,
               [cr.id or 0], ts=now)
