"""What a notification says: one ``Message`` per delivery, rendered as webhook data, Teams/Slack
facts, and a plain-text + HTML e-mail (title, semantic diff summary, financial flag, rules still
open, the link). Built when delivered, from the CR as it is then and the event's snapshot."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from gatekeeper.actions import review as rv
from gatekeeper.actions.context import Services
from gatekeeper.policy.sod import describe_missing
from gatekeeper.store import changes as q
from gatekeeper.store.tables import ChangeRequest

DIFF_LINES = 12
HEADLINES = {
    "change.waiting": "Change request {id} waits for your signature: {title}",
    "change.approved": "Change request {id} approved: {title}",
    "change.rejected": "Change request {id} rejected: {title}",
    "change.deployed": "Change request {id} deployed to {target}: {title}",
    "emergency.opened": "EMERGENCY change request {id} deployed: {title}",
    "retro.due": "Retrospective approval of emergency change request {id} is due within 24 hours: {title}",
    "retro.overdue": "Retrospective approval of emergency change request {id} is OVERDUE: {title}",
    "push.refused": "Push to {repo} refused",
    "drift.detected": "Drift detected in {repo}",
    "access.review_signed": "Access review {review_id} signed: {revoked} right(s) to revoke in the directory",
    "access.revocation_open": "Revoked rights still held on {day}: the directory was not changed yet",
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

    @property
    def subject(self) -> str:
        """One header line whatever a title holds (no header injection, no refused message)."""
        return " ".join(("[Gatekeeper] " + self.headline).split())[:250]

    def text(self, greeting: str = "") -> str:
        lines = [greeting, ""] if greeting else []
        lines.append(self.headline)
        lines.append("")
        lines.extend(f"{k}: {v}" for k, v in self.facts)
        if self.diff:
            lines.extend(["", "What changes:", *(f"  {d}" for d in self.diff)])
        if self.url:
            lines.extend(["", f"Open it: {self.url}"])
        lines.extend(["", "-- ", f"Gatekeeper change control. Choose which mail you get: {self.settings_url}"])
        return "\n".join(lines) + "\n"

    def html(self, greeting: str = "") -> str:
        e = html.escape
        parts = [f"<p>{e(greeting)}</p>" if greeting else "", f"<h2>{e(self.headline)}</h2>", "<table>"]
        parts.extend(f"<tr><th align='left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in self.facts)
        parts.append("</table>")
        if self.diff:
            parts.append("<h3>What changes</h3><ul>" + "".join(f"<li>{e(d)}</li>" for d in self.diff) + "</ul>")
        if self.url:
            parts.append(f"<p><a href=\"{e(self.url, quote=True)}\">Open it in Gatekeeper</a></p>")
        parts.append(f"<p><small>Gatekeeper change control. <a href=\"{e(self.settings_url, quote=True)}\">Choose "
                     "which mail you get</a>.</small></p>")
        return "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>"


def compose(services: Services, session: Session, event: str, cr: ChangeRequest | None,
            payload: dict[str, Any]) -> Message:
    data: dict[str, Any] = {k: v for k, v in payload.items() if k != "event_ts"}
    url = None
    facts: list[tuple[str, str]] = []
    diff: list[str] = []
    if cr is not None:
        url = services.change_url(cr.id or 0)
        data.update({"change_id": cr.id, "url": url, "repo": cr.repo, "target": cr.target, "title": cr.title,
                     "state": payload.get("state") or cr.state, "financial": cr.financial, "ticket": cr.ticket,
                     "ticket_state": cr.ticket_state, "requested_by": cr.requested_by,
                     "categories": q.loads(cr.categories)})
        facts += [("Change request", f"{cr.id} ({data['state']})"), ("Repository", f"{cr.repo} → {cr.target}"),
                  ("Requested by", cr.requested_by), ("Financial", "yes" if cr.financial else "no")]
        if cr.ticket:
            facts.append(("Ticket", cr.ticket + (f" ({cr.ticket_state})" if cr.ticket_state else "")))
        if event in ("change.waiting", "emergency.opened", "retro.due", "retro.overdue"):
            review = rv.review(services, session, cr)
            if review.missing:
                facts.append(("Still needed", describe_missing(review.missing)))
                data["approvals_missing"] = [{"group": g, "count": n} for g, n in review.missing]
            diff = _diff_summary(session, cr)
        if cr.emergency_deadline and event in ("emergency.opened", "retro.due", "retro.overdue"):
            facts.append(("Retrospective approval due", cr.emergency_deadline))
            data["deadline"] = cr.emergency_deadline
        if event in ("change.approved", "change.rejected") and payload.get("signer"):
            facts.append(("Signed by", f"{payload.get('signer')} ({payload.get('meaning') or ''})"))
            if payload.get("comment"):
                facts.append(("Comment", str(payload["comment"])))
        if event == "change.deployed" and payload.get("new"):
            facts.append(("Commit", str(payload["new"])))
    else:
        if payload.get("repo"):
            facts.append(("Repository", str(payload["repo"])))
        if payload.get("pusher"):
            facts.append(("Pushed by", str(payload["pusher"])))
        for ref in payload.get("refs") or []:
            for reason in (ref.get("reasons") or [])[:5]:
                diff.append(str(reason))
        if isinstance(payload.get("summary"), str):
            diff.append(str(payload["summary"]))
        diff += _revocations(payload)
        data.setdefault("url", None)
    if payload.get("review_id"):
        data["url"] = url = f"{services.config.service.url}/access/reviews/{payload['review_id']}"
        facts.append(("Signed by", f"{payload.get('signer')} ({payload.get('meaning') or ''})"))
        facts.append(("Rows", f"{payload.get('kept')} kept, {payload.get('revoked')} revoked"))
    fmt = {"id": data.get("change_id") or "", "title": data.get("title") or "", "target": data.get("target") or "",
           "repo": data.get("repo") or "", "review_id": data.get("review_id") or "", "day": data.get("day") or "",
           "revoked": data.get("revoked") if data.get("revoked") is not None else ""}
    headline = HEADLINES.get(event, event).format(**fmt)
    return Message(event, headline, url, data, facts, diff, services.config.service.url + "/settings/notifications")


def _revocations(payload: dict[str, Any]) -> list[str]:
    """Access reviews: each revoked right, as work for the directory's owners (at most DIFF_LINES)."""
    items = [r for r in (payload.get("revocations") or payload.get("revocations_open") or []) if isinstance(r, dict)]
    out = [f"remove {r.get('username')} from {r.get('group')} ({r.get('right')}"
           + (f", {r.get('repo')}" if r.get("repo") else "") + (f", {r.get('category')}" if r.get("category") else "")
           + f"; review {r.get('review_id')} row {r.get('row')})" for r in items[:DIFF_LINES]]
    if len(items) > DIFF_LINES:
        out.append(f"… and {len(items) - DIFF_LINES} more")
    return out


def _diff_summary(session: Session, cr: ChangeRequest) -> list[str]:
    """The semantic diff's first lines ("setpoint TT-101.high 85.0 → 90.0 °C"), per file."""
    rev = q.current_revision(session, cr)
    out: list[str] = []
    total = 0
    for item in q.loads(rev.semantic_diff):
        for change in item.get("changes", []):
            total += 1
            if len(out) < DIFF_LINES:
                out.append(f"{item.get('path')}: {change.get('text') or change.get('kind')}")
    if total > len(out):
        out.append(f"… and {total - len(out)} more")
    return out


def work_note(services: Services, session: Session, cr: ChangeRequest, payload: dict[str, Any]) -> str:
    """The ITSM work note on deployment: the CR link, the commit and the approvals."""
    approvals = [a for a in q.approvals(session, cr.id or 0) if a.decision == "approve"]
    lines = [f"Gatekeeper: change request {cr.id} was deployed to {cr.repo} {cr.target}.",
             f"Change request: {services.change_url(cr.id or 0)}",
             f"Commit: {payload.get('new') or cr.deployed_commit or ''}",
             f"Deployed by: {cr.deployed_by or payload.get('pusher') or ''} at {cr.deployed_at or ''}",
             "Approvals:"]
    lines.extend(f"- {a.name} ({a.username}), {a.group}, \"{a.meaning}\", {a.signed_at}" for a in approvals)
    if not approvals:
        lines.append("- none required")
    return "\n".join(lines)
