"""What a notification says: one ``Message`` per delivery, rendered as webhook data, Teams/Slack
facts, and a plain-text + HTML e-mail (title, semantic diff summary, financial flag, rules still
open, the link). Built when delivered, from the CR as it is then and the event's snapshot."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from gatekeeper import i18n
from gatekeeper.actions import review as rv
from gatekeeper.actions.comments import file_anchor
from gatekeeper.actions.context import Services
from gatekeeper.i18n import N_
from gatekeeper.notify.events import Snapshot
from gatekeeper.policy.approvals import APPROVE, describe_missing
from gatekeeper.policy.notices import Notice
from gatekeeper.store import changes as q
from gatekeeper.store.tables import ChangeRequest

DIFF_LINES = 12
# Fact labels stay English in the Message (webhooks, Teams, Slack) and are translated when a mail is rendered.
FACTS = (N_("Change request"), N_("Repository"), N_("Requested by"), N_("Financial"), N_("Ticket"),
         N_("Still needed"), N_("Retrospective approval due"), N_("Signed by"), N_("Comment"), N_("Commit"),
         N_("Pushed by"), N_("Rows"), N_("Comment by"), N_("File"))
HEADLINES = {  # by ``policy.notices.Notice``: msgids for the recipient's catalogue (i18n.translate)
    "change.waiting": N_("Change request %(id)s waits for your signature: %(title)s"),
    "change.approved": N_("Change request %(id)s approved: %(title)s"),
    "change.rejected": N_("Change request %(id)s rejected: %(title)s"),
    "change.commented": N_("New comment on change request %(id)s: %(title)s"),
    "change.deployed": N_("Change request %(id)s deployed to %(target)s: %(title)s"),
    "emergency.opened": N_("EMERGENCY change request %(id)s deployed: %(title)s"),
    "retro.due": N_("Retrospective approval of emergency change request %(id)s is due within 24 hours: %(title)s"),
    "retro.overdue": N_("Retrospective approval of emergency change request %(id)s is OVERDUE: %(title)s"),
    "push.refused": N_("Push to %(repo)s refused"),
    "drift.detected": N_("Drift detected in %(repo)s"),
    "access.review_signed": N_("Access review %(review_id)s signed: %(revoked)s right(s) to revoke in the directory"),
    "access.revocation_open": N_("Revoked rights still held on %(day)s: the directory was not changed yet"),
}


@dataclass
class Message:
    event: str
    headline: str
    url: str | None
    data: dict[str, Any]
    facts: list[tuple[str, str]] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    settings_url: str = ""
    lang: str = "en"

    def _(self, text: str, **values: object) -> str:
        return i18n.translate(self.lang, text, **values)

    @property
    def subject(self) -> str:
        """One header line whatever a title holds (no header injection, no refused message)."""
        return " ".join(("[Gatekeeper] " + self.headline).split())[:250]

    def text(self, greeting: str = "") -> str:
        lines = [greeting, ""] if greeting else []
        lines.append(self.headline)
        lines.append("")
        lines.extend(f"{self._(k)}: {v}" for k, v in self.facts)
        if self.diff:
            lines.extend(["", i18n.translate(self.lang, "What changes:"), *(f"  {d}" for d in self.diff)])
        if self.url:
            lines.extend(["", i18n.translate(self.lang, "Open it: %(url)s", url=self.url)])
        lines.extend(["", "-- ", i18n.translate(self.lang, "Gatekeeper change control. Choose which mail you get: "
                                                "%(url)s", url=self.settings_url)])
        return "\n".join(lines) + "\n"

    def html(self, greeting: str = "") -> str:
        e = html.escape
        what = i18n.translate(self.lang, "What changes")
        open_it = i18n.translate(self.lang, "Open it in Gatekeeper")
        footer = i18n.translate(self.lang, "Gatekeeper change control.")
        choose = i18n.translate(self.lang, "Choose which mail you get")
        parts = [f"<p>{e(greeting)}</p>" if greeting else "", f"<h2>{e(self.headline)}</h2>", "<table>"]
        parts.extend(f"<tr><th align='left'>{e(self._(k))}</th><td>{e(v)}</td></tr>" for k, v in self.facts)
        parts.append("</table>")
        if self.diff:
            parts.append(f"<h3>{e(what)}</h3><ul>" + "".join(f"<li>{e(d)}</li>" for d in self.diff) + "</ul>")
        if self.url:
            parts.append(f"<p><a href=\"{e(self.url, quote=True)}\">{e(open_it)}</a></p>")
        parts.append(f"<p><small>{e(footer)} <a href=\"{e(self.settings_url, quote=True)}\">{e(choose)}</a>."
                     "</small></p>")
        return f"<!DOCTYPE html><html lang=\"{e(self.lang)}\"><body>" + "".join(parts) + "</body></html>"


def compose(services: Services, session: Session, event: str, cr: ChangeRequest | None, snap: Snapshot,
            lang: str = "en") -> Message:
    """The message of one event; ``lang`` is the recipient's language (mails), English for webhooks.
    Facts keep English keys (translated when rendered); meanings stay as the policy words them."""
    data: dict[str, Any] = snap.data()
    url = None
    facts: list[tuple[str, str]] = []
    diff: list[str] = []
    if cr is not None:
        url = services.change_url(cr.id or 0)
        data.update({"change_id": cr.id, "url": url, "repo": cr.repo, "target": cr.target, "title": cr.title,
                     "state": snap.state or cr.state, "financial": cr.financial, "ticket": cr.ticket,
                     "ticket_state": cr.ticket_state, "requested_by": cr.requested_by,
                     "categories": q.loads(cr.categories)})
        facts += [("Change request", f"{cr.id} ({data['state']})"), ("Repository", f"{cr.repo} → {cr.target}"),
                  ("Requested by", cr.requested_by), ("Financial", _yes_no(lang, cr.financial))]
        if cr.ticket:
            facts.append(("Ticket", cr.ticket + (f" ({cr.ticket_state})" if cr.ticket_state else "")))
        if event in (Notice.WAITING, Notice.EMERGENCY_OPENED, Notice.RETRO_DUE, Notice.RETRO_OVERDUE):
            review = rv.review(services, session, cr)
            if review.missing:
                facts.append(("Still needed", describe_missing(review.missing)))
                data["approvals_missing"] = [{"group": g, "count": n} for g, n in review.missing]
            diff = _diff_summary(session, cr, lang)
        if cr.emergency_deadline and event in (Notice.EMERGENCY_OPENED, Notice.RETRO_DUE, Notice.RETRO_OVERDUE):
            facts.append(("Retrospective approval due", cr.emergency_deadline))
            data["deadline"] = cr.emergency_deadline
        if event in (Notice.APPROVED, Notice.REJECTED) and snap.signer:
            facts.append(("Signed by", f"{snap.signer} ({snap.meaning or ''})"))
            if snap.comment:
                facts.append(("Comment", snap.comment))
        if event == Notice.COMMENTED:
            facts.append(("Comment by", f"{snap.name or snap.commenter} ({snap.commenter})"))
            if snap.path:
                facts.append(("File", snap.path))
            facts.append(("Comment", snap.comment or ""))
            if snap.path:
                url = data["url"] = f"{url}#{file_anchor(snap.path)}"
        if event == Notice.DEPLOYED and snap.new:
            facts.append(("Commit", snap.new))
    else:
        facts, diff = _push_facts(snap, lang)
        data.setdefault("url", None)
    if snap.review_id:
        data["url"] = url = f"{services.config.service.url}/access/reviews/{snap.review_id}"
        facts.append(("Signed by", f"{snap.signer} ({snap.meaning or ''})"))
        facts.append(("Rows", i18n.translate(lang, "%(kept)s kept, %(revoked)s revoked", kept=snap.kept,
                                             revoked=snap.revoked)))
    fmt = {"id": data.get("change_id") or "", "title": data.get("title") or "", "target": data.get("target") or "",
           "repo": data.get("repo") or "", "review_id": snap.review_id or "", "day": snap.day or "",
           "revoked": snap.revoked if snap.revoked is not None else ""}
    headline = i18n.translate(lang, HEADLINES[event], **fmt) if event in HEADLINES else event
    return Message(event, headline, url, data, facts, diff, services.config.service.url + "/settings",
                   lang=lang)


def _push_facts(snap: Snapshot, lang: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The facts and lines of an event about no CR (a refused push, drift, revocations)."""
    facts: list[tuple[str, str]] = []
    diff: list[str] = []
    if snap.repo:
        facts.append(("Repository", snap.repo))
    if snap.pusher:
        facts.append(("Pushed by", snap.pusher))
    for ref in snap.refs or ():
        diff.extend(r.message for r in ref.reasons[:5])
    if snap.summary:
        diff.append(snap.summary)
    return facts, diff + _revocations(snap, lang)


def _yes_no(lang: str, value: bool) -> str:
    return i18n.translate(lang, "yes") if value else i18n.translate(lang, "no")


def _revocations(snap: Snapshot, lang: str) -> list[str]:
    """Access reviews: each revoked right, as work for the directory's owners (at most DIFF_LINES). The
    right, repo and category stay as the log and the exports spell them, so a line can be searched for."""
    items = list(snap.revocations or snap.revocations_open or ())
    out = []
    for r in items[:DIFF_LINES]:
        what = ", ".join(v for v in (r.right, r.repo, r.category) if v)
        out.append(i18n.translate(lang, "remove %(username)s from %(group)s (%(what)s; review %(review_id)s row "
                                        "%(row)s)", username=r.username, group=r.group, what=what,
                                  review_id=r.review_id, row=r.row))
    return out + _more(lang, len(items) - len(out))


def _more(lang: str, n: int) -> list[str]:
    """The line that says how many were left out of a list (none when nothing was)."""
    return [i18n.translate(lang, "… and %(n)s more", n=n)] if n > 0 else []


def _diff_summary(session: Session, cr: ChangeRequest, lang: str) -> list[str]:
    """The semantic diff's first lines ("setpoint TT-101.high 85.0 → 90.0 °C"), per file."""
    rev = q.current_revision(session, cr)
    out: list[str] = []
    total = 0
    for item in q.loads(rev.semantic_diff):
        for change in item.get("changes", []):
            total += 1
            if len(out) < DIFF_LINES:
                out.append(f"{item.get('path')}: {change.get('text') or change.get('kind')}")
    return out + _more(lang, total - len(out))


def work_note(services: Services, session: Session, cr: ChangeRequest, snap: Snapshot) -> str:
    """The ITSM work note on deployment: the CR link, the commit and the approvals."""
    approvals = [a for a in q.approvals(session, cr.id or 0) if a.decision == APPROVE]
    lines = [f"Gatekeeper: change request {cr.id} was deployed to {cr.repo} {cr.target}.",
             f"Change request: {services.change_url(cr.id or 0)}",
             f"Commit: {snap.new or cr.deployed_commit or ''}",
             f"Deployed by: {cr.deployed_by or snap.pusher or ''} at {cr.deployed_at or ''}",
             "Approvals:"]
    lines.extend(f"- {a.name} ({a.username}), {a.group}, \"{a.meaning}\", {a.signed_at}" for a in approvals)
    if not approvals:
        lines.append("- none required")
    return "\n".join(lines)
