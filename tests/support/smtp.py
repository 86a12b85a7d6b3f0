"""A real SMTP server for the suite (aiosmtpd), with STARTTLS or implicit TLS and AUTH, on 127.0.0.1.

Messages that arrive are kept in ``received`` (envelope and the parsed message), so tests read what
was really sent. A throwaway CA signs the server certificate for 127.0.0.1; the client trusts it
through ``notify.smtp.ca_file``. Stopped by the suite (``stop``), never left running.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError as exc:  # a missing component fails, it is never skipped
    raise RuntimeError("aiosmtpd is required by the notification tests: pip install aiosmtpd "
                       "(it is in the project's dependencies)") from exc

from tests.support.process import free_port

USER = "gatekeeper-mailer"
PASSWORD = "smtp-test-password"


def make_tls(where: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost: (cert = CA file, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    where.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = where / "smtp-cert.pem", where / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Arrived:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part is not None else ""  # type: ignore[no-any-return]

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        return part.get_content() if part is not None else ""  # type: ignore[no-any-return]


@dataclass
class SmtpServer:
    port: int
    ca_file: Path
    security: str
    received: list[Arrived] = field(default_factory=list)
    refused_logins: int = 0
    controller: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()

    def to(self, address: str) -> list[Arrived]:
        with self.lock:
            return [m for m in self.received if address in m.rcpt_tos]

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def policy(self, password_env: str = "GK_SMTP_PASSWORD") -> str:  # noqa: S107 - a variable name
        """The ``[notify.smtp]`` table for this server."""
        return (f'[notify.smtp]\nhost = "127.0.0.1"\nport = {self.port}\nsecurity = "{self.security}"\n'
                f'username = "{USER}"\npassword_env = "{password_env}"\nfrom = "gatekeeper@plant.example"\n'
                f'ca_file = "{self.ca_file}"\ntimeout = 5\n')


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.server.lock:
            self.server.received.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), msg, login))  # type: ignore[arg-type]
        return "250 OK"


def start(where: Path, security: str = "starttls") -> SmtpServer:
    """STARTTLS (required before AUTH and mail) or implicit TLS ("ssl"); AUTH is required in both."""
    cert, key = make_tls(where)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server = SmtpServer(port=free_port(), ca_file=cert, security=security)

    def authenticator(_smtp: Any, _session: Any, _env: Any, _mech: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
        if not ok:
            server.refused_logins += 1
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)  # 535 when refused

    kw: dict[str, Any] = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": True}
    if security == "ssl":  # the whole connection is TLS: aiosmtpd cannot see that, so no TLS demand on AUTH
        kw.update(ssl_context=ctx, auth_require_tls=False)
    else:
        kw.update(tls_context=ctx, require_starttls=True)
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port, **kw)
    if security == "ssl":  # the controller's readiness probe must speak TLS too
        controller.ssl_context = ctx
    controller.start()
    server.controller = controller
    return server
