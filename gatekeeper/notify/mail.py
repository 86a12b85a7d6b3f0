"""E-mail over SMTP (``[notify.smtp]``, SPEC §11): STARTTLS, implicit TLS or none, optional AUTH.

One connection is kept open for a batch of deliveries (``Mailer`` is a context manager) and reopened
after any error, so a worker draining a backlog does not pay a TLS handshake per message. TLS
certificates are verified against the system's CAs (``ssl.create_default_context``), or against
``notify.smtp.ca_file`` (a plant CA; the test suite's throwaway CA).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from gatekeeper.config import SmtpConfig
from gatekeeper.errors import ConfigError


class MailError(Exception):
    """A delivery failed; the message names the SMTP step, never a credential."""


def build(sender: str, to_name: str, to_addr: str, subject: str, text: str, html: str,
          delivery_id: str) -> EmailMessage:
    """A multipart/alternative message (plain text first, HTML second) carrying the delivery id."""
    msg = EmailMessage()
    msg["From"] = formataddr(("Gatekeeper", sender))
    msg["To"] = formataddr((to_name, to_addr))
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(idstring=delivery_id, domain=sender.rpartition("@")[2] or "gatekeeper")
    msg["X-Gatekeeper-Delivery"] = delivery_id  # stable across retries: a receiver can drop duplicates
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class Mailer:
    """Sends messages over one lazily opened SMTP connection."""

    def __init__(self, cfg: SmtpConfig, password: str | None = None) -> None:
        self.cfg, self.password = cfg, password
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cfg.ca_file) if self.cfg.ca_file else None)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        step = "connect"
        try:
            conn: smtplib.SMTP
            if cfg.security == "ssl":
                conn = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=self._context())
            else:
                conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            conn.ehlo()
            if cfg.security == "starttls":
                step = "STARTTLS"
                conn.starttls(context=self._context())
                conn.ehlo()
            if cfg.username:
                step = "AUTH"
                if not self.password:
                    raise ConfigError(f"notify.smtp.password_env: environment variable {cfg.password_env} is not set")
                conn.login(cfg.username, self.password)
            return conn
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"SMTP AUTH refused for {cfg.username} ({exc.smtp_code})") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise MailError(f"SMTP {step} to {cfg.host}:{cfg.port} failed: {_short(exc)}") from None

    def send(self, msg: EmailMessage) -> None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            refused = self._conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"recipient refused: {', '.join(exc.recipients)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"SMTP send failed: {_short(exc)}") from None
        if refused:
            raise MailError(f"recipient refused: {', '.join(refused)}")

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                self._conn.close()
            self._conn = None


def _short(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        err = exc.smtp_error
        return f"{exc.smtp_code} {(err.decode('utf-8', 'replace') if isinstance(err, bytes) else err)[:200]}"
    text = str(exc).strip()
    return (text.splitlines()[0][:200] if text else type(exc).__name__)

