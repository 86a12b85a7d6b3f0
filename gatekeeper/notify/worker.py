"""The delivery worker (issue 14): ``gatekeeper notify run [--once]`` and a thread in ``gatekeeper serve``.

Each round: enqueue retrospective-approval reminders that came due (once each: the outbox key is
unique), bundle held mail into daily digests, then claim due deliveries (``outbox.claim``: one worker
per row across processes and hosts) and send them. A success is marked ``sent`` and logged
``notify.sent``; a failure is retried with exponential backoff (``backoff_seconds`` × 2^n, at most
six hours) and after ``max_attempts`` marked ``dead`` and logged ``notify.failed``. Log entries name
the recipient, channel and event — never a secret or a webhook URL. All state is in the database,
so a restart picks up where the last run stopped.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

from sqlmodel import Session, col, select

from gatekeeper.actions.context import Services
from gatekeeper.errors import GatekeeperError
from gatekeeper.itsm import Itsm
from gatekeeper.ledger.events import NotifyFailed, NotifySent
from gatekeeper.notify import events, mail, messages, outbox, recipients, webhooks
from gatekeeper.notify.events import Snapshot
from gatekeeper.notify.outbox import Delivery, stamp
from gatekeeper.policy import emergency
from gatekeeper.policy.states import State
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeRequest, NotifyOutbox, NotifyPref

logger = logging.getLogger(__name__)
MAX_BACKOFF = 6 * 3600.0
RECORD_EVERY = 25  # outcomes recorded per write transaction (a crash before it re-sends them: at least once)
Outcome = Callable[[Session], None]


class Skip(Exception):
    """Nothing to send (no ticket, a webhook removed from the policy): marked ``skipped``, not retried."""


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    expanded: int = 0
    reminders: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"sent {self.sent}, retrying {self.failed}, dead {self.dead}, skipped {self.skipped}, "
                f"reminders {self.reminders}")


class Worker:
    def __init__(self, services: Services, *, batch: int = 100, clock: Callable[[], datetime] | None = None) -> None:
        self.services, self.batch = services, batch
        self.cfg = services.config.notify
        self.clock = clock or services.clock
        self.lease = 2 * max(self.cfg.timeout, self.cfg.smtp.timeout if self.cfg.smtp else 0) + 30

    @property
    def router(self) -> events.Outbox | None:
        """The channels to deliver on (None: nothing is configured)."""
        return events.Outbox.from_config(self.services.config)

    # -- one round ---------------------------------------------------------------------------------
    def run_once(self, max_rounds: int = 1000) -> Stats:
        stats = Stats()
        if self.router is None:
            return stats
        stats.reminders = self.reminders(self.clock())
        self.digests(self.clock())
        smtp = self.cfg.smtp
        password = os.environ.get(smtp.password_env, "") if smtp and smtp.password_env else None
        with (mail.Mailer(smtp, password) if smtp else nullcontext()) as mailer:
            for _ in range(max_rounds):
                batch = outbox.claim(self.services.store, self.clock(), self.batch, self.lease)
                if not batch:
                    break
                outcomes: list[Outcome] = []
                for d in batch:
                    outcomes.append(self.deliver(d, mailer, stats))
                    if len(outcomes) >= RECORD_EVERY:
                        self.record(outcomes)
                self.record(outcomes)
        return stats

    def deliver(self, d: Delivery, mailer: mail.Mailer | None, stats: Stats) -> Outcome:
        """Attempt one delivery; returns how to record it (applied with others in one transaction)."""
        try:
            if d.channel == "email" and d.target == "*":
                rows = self.expand(d)
                stats.expanded += 1

                def expanded(s: Session) -> None:
                    outbox.add(s, rows)
                    outbox.finish(s, d, outbox.EXPANDED)
                return expanded
            recipient = self.send(d, mailer)
        except Skip as exc:
            stats.skipped += 1
            reason = str(exc)
            return lambda s: outbox.finish(s, d, outbox.SKIPPED, error=reason)
        except (mail.MailError, webhooks.WebhookError, GatekeeperError) as exc:
            return self.failed(d, getattr(exc, "message", None) or str(exc), stats)
        except Exception as exc:  # a bug must not stop the other deliveries; it is retried and logged
            logger.exception("notify: delivery %s failed unexpectedly", d.id)
            return self.failed(d, f"unexpected error: {type(exc).__name__}", stats)
        stats.sent += 1
        return self.sent(d, recipient)

    def record(self, outcomes: list[Outcome]) -> None:
        """One write transaction (one fsync) for a run of outcomes: the outbox rows and their log entries."""
        if outcomes:
            with self.services.store.write() as s:
                for outcome in outcomes:
                    outcome(s)
            outcomes.clear()

    def send(self, d: Delivery, mailer: mail.Mailer | None) -> str:
        """Send one delivery; returns the recipient as it goes into the log."""
        svc = self.services
        with svc.store.read() as s:
            cr = s.get(ChangeRequest, d.change_id) if d.change_id else None
            if d.channel == "email":
                if mailer is None or self.cfg.smtp is None:
                    raise Skip("no [notify.smtp] configured")
                user = svc.directory.get_user(d.target)
                if user is None or not user.email:
                    raise Skip(f"{d.target} has no e-mail address in the directory")
                if d.event == "digest":
                    subject, text, html = self._digest(s, d)
                else:
                    from gatekeeper import i18n

                    lang = i18n.language_of(s, user.username, svc.config.service.languages,
                                            svc.config.service.default_language)
                    msg = messages.compose(svc, s, d.event, cr, d.snapshot, lang)
                    hello = i18n.translate(lang, "Hello %(name)s,", name=user.name)
                    subject, text, html = msg.subject, msg.text(hello), msg.html(hello)
                mailer.send(mail.build(self.cfg.smtp.from_, user.name, user.email, subject, text, html,
                                       d.delivery_id))
                return d.target
            if d.channel == "webhook":
                hook = events.webhook(svc.config, d.target)
                if hook is None:
                    raise Skip(f"webhook {d.target} is no longer in the policy")
                msg = messages.compose(svc, s, d.event, cr, d.snapshot)
                for key in ("change_id", "url", "repo", "target", "title", "state"):
                    msg.data.setdefault(key, None)
                headers = {"webhook-id": d.delivery_id}
                if hook.kind == "standard":
                    body = webhooks.standard_body(d.event, d.snapshot.event_ts or stamp(self.clock()), msg.data)
                    headers = webhooks.sign(svc.config.secret(hook.secret_env, f"notify.webhooks[{hook.name}]"),
                                            d.delivery_id, webhooks.now(), body)
                elif hook.kind == "teams":
                    body = json.dumps(webhooks.teams_body(msg.headline, msg.facts, msg.url), ensure_ascii=False)
                else:
                    body = json.dumps(webhooks.slack_body(msg.headline, msg.facts, msg.url), ensure_ascii=False)
                webhooks.post(hook, body, headers, self.cfg.timeout)
                return hook.name
            if d.channel == "itsm":
                if svc.config.itsm is None or cr is None or not cr.ticket:
                    raise Skip("no change ticket to note")
                Itsm(svc.config.itsm).note(cr.ticket, messages.work_note(svc, s, cr, d.snapshot))
                return cr.ticket
        raise Skip(f"unknown channel {d.channel}")

    # -- outcomes ----------------------------------------------------------------------------------
    @staticmethod
    def _outcome(d: Delivery, recipient: str) -> dict[str, Any]:
        return {"delivery_id": d.delivery_id, "event": d.event, "channel": d.channel, "recipient": recipient,
                "change_id": d.change_id, "event_seq": d.log_seq, "attempts": d.attempts + 1}

    def sent(self, d: Delivery, recipient: str) -> Outcome:
        at = self.clock()

        def outcome(s: Session) -> None:
            outbox.finish(s, d, outbox.SENT, at=at)
            log.append(s, NotifySent(**self._outcome(d, recipient)), change_ids=[d.change_id] if d.change_id else [])
        return outcome

    def failed(self, d: Delivery, error: str, stats: Stats) -> Outcome:
        now = self.clock()
        tries = d.attempts + 1
        stats.errors.append(f"{d.channel} {d.target} {d.event}: {error}")
        if tries >= self.cfg.max_attempts:
            stats.dead += 1

            def dead(s: Session) -> None:
                outbox.finish(s, d, outbox.DEAD, error=error)
                log.append(s, NotifyFailed(**self._outcome(d, d.target), error=error),
                           change_ids=[d.change_id] if d.change_id else [])
            return dead
        stats.failed += 1
        retry_at = now + timedelta(seconds=min(self.cfg.backoff_seconds * (2 ** (tries - 1)), MAX_BACKOFF))
        return lambda s: outbox.finish(s, d, outbox.PENDING, error=error, retry_at=retry_at)

    # -- e-mail fan-out, reminders, digests ---------------------------------------------------------
    def expand(self, d: Delivery) -> list[dict[str, Any]]:
        """One e-mail row per recipient, decided now (who may sign now, opt-outs, digests)."""
        svc = self.services
        with svc.store.read() as s:
            cr = s.get(ChangeRequest, d.change_id) if d.change_id else None
            people = recipients.for_event(svc, s, d.event, cr, d.snapshot)
            names = [r.user.username for r in people]
            prefs = {p.username: p for p in s.exec(select(NotifyPref).where(col(NotifyPref.username).in_(names)))}
        now = stamp(self.clock())
        rows = []
        for r in people:
            pref = prefs.get(r.user.username)
            if pref is not None and pref.opt_out and not r.mandatory:
                continue
            held = pref is not None and pref.digest and not r.mandatory
            rows.append(self._row(d.event_key, d.event, r.user.username, d.log_seq, d.change_id, d.payload, now,
                                  outbox.HELD if held else outbox.PENDING))
        return rows

    @staticmethod
    def _row(key: str, event: str, target: str, seq: int | None, change_id: int | None, payload: dict[str, Any],
             now: str, state: str = outbox.PENDING) -> dict[str, Any]:
        return {"event_key": key, "event": event, "channel": "email", "target": target, "log_seq": seq,
                "change_id": change_id, "payload": json.dumps(payload, sort_keys=True, ensure_ascii=False),
                "state": state, "attempts": 0, "next_at": now, "last_error": "", "created_at": now, "sent_at": None}

    def reminders(self, now: datetime) -> int:
        """Enqueue ``retro.due`` (24 h before the deadline) and ``retro.overdue`` once per emergency CR."""
        router = self.router
        if router is None:
            return 0
        with self.services.store.read() as s:
            crs = s.exec(select(ChangeRequest).where(ChangeRequest.state == State.EMERGENCY.value,
                                                     col(ChangeRequest.emergency_deadline).is_not(None))).all()
        added = 0
        for cr in crs:
            event = emergency.reminder(str(cr.emergency_deadline), cr.state, now)
            if event is None:
                continue
            rows = router.rows(f"{event}:{cr.id}:{cr.emergency_deadline}", event,
                               Snapshot(change_id=cr.id, repo=cr.repo, deadline=cr.emergency_deadline, state=cr.state),
                               stamp(now), None, cr.id, cr.repo)
            if rows and not self._known(rows[0]["event_key"]):
                with self.services.store.write() as s:
                    added += outbox.add(s, rows)
        return added

    def _known(self, key: str) -> bool:
        with self.services.store.read() as s:
            return s.exec(select(NotifyOutbox.id).where(NotifyOutbox.event_key == key).limit(1)).first() is not None

    def digests(self, now: datetime) -> None:
        """At ``digest_hour`` (UTC) and after, bundle each user's held mail into one message per day."""
        if self.cfg.smtp is None or now.hour < self.cfg.digest_hour:
            return
        with self.services.store.write() as s:
            held = s.exec(select(NotifyOutbox).where(NotifyOutbox.state == outbox.HELD,
                                                     NotifyOutbox.created_at < stamp(now))).all()
            by_user: dict[str, list[int]] = {}
            for row in held:
                by_user.setdefault(row.target, []).append(row.id or 0)
            day = now.strftime("%Y-%m-%d")
            for user, ids in by_user.items():
                # one digest per user and day: what is held after today's went out waits for tomorrow's
                if outbox.add(s, [self._row(f"digest:{day}", "digest", user, None, None,
                                            Snapshot(items=tuple(ids)).to_payload(), stamp(now))]):
                    for row in held:
                        if row.target == user:
                            row.state = outbox.DIGESTED
                            s.add(row)

    def _digest(self, s: Session, d: Delivery) -> tuple[str, str, str]:
        ids = list(d.snapshot.items or ())
        rows = s.exec(select(NotifyOutbox).where(col(NotifyOutbox.id).in_(ids)).order_by(col(NotifyOutbox.id))).all()
        msgs = []
        for row in rows:
            cr = s.get(ChangeRequest, row.change_id) if row.change_id else None
            snap = Snapshot.from_payload(json.loads(row.payload))
            msgs.append(messages.compose(self.services, s, row.event, cr, snap))
        subject = f"[Gatekeeper] Daily digest: {len(msgs)} notification{'s' if len(msgs) != 1 else ''}"
        text = "".join(f"- {m.headline}\n" + (f"  {m.url}\n" if m.url else "") for m in msgs)
        items = "".join(f"<li>{escape(m.headline)}"
                        + (f" — <a href=\"{escape(m.url)}\">open</a>" if m.url else "") + "</li>" for m in msgs)
        return subject, text, f"<!DOCTYPE html><html><body><h2>{escape(subject)}</h2><ul>{items}</ul></body></html>"

    # -- running -----------------------------------------------------------------------------------
    def run_forever(self, stop: threading.Event) -> None:
        """Deliver every ``interval_seconds`` until ``stop`` is set; a failing round is logged, not fatal."""
        while not stop.is_set():
            try:
                stats = self.run_once()
                if stats.sent or stats.dead:
                    logger.info("notify: %s", stats.line())
            except Exception:
                logger.exception("notify: delivery round failed; retrying in %s s", self.cfg.interval_seconds)
            stop.wait(self.cfg.interval_seconds)


def start_background(services: Services) -> Callable[[], None] | None:
    """The worker thread of ``gatekeeper serve``; returns a function that stops it (None: nothing configured)."""
    if events.Outbox.from_config(services.config) is None:
        return None
    stop = threading.Event()
    thread = threading.Thread(target=Worker(services).run_forever, args=(stop,), name="gatekeeper-notify",
                              daemon=True)
    thread.start()

    def _stop() -> None:
        stop.set()
        thread.join(timeout=30)

    return _stop
