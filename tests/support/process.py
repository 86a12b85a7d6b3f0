"""Process plumbing shared by the throwaway servers (slapd, Samba, sshd, Apache, the service).

Each server module keeps its own configuration; what they all do the same way lives here: a free
loopback port, a daemon started with its output in a log file, polled until it answers (failing with
the log's tail if it exits first), stopped by PID (SIGTERM, then SIGKILL), started again on other
ports if a port was taken between probing and binding, helper commands that must succeed, and a test
CA with a server certificate (plus an unrelated CA) for ldaps://, StartTLS and https. Missing binaries
fail naming the apt package: a test never skips its component.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

T = TypeVar("T")


def require(path: str, package: str) -> None:
    if not Path(path).exists():
        pytest.fail(f"{path} not found: install the apt package {package} (scripts/system-deps.sh)", pytrace=False)


def _port_band() -> tuple[int, int]:
    """Ports below the kernel's ephemeral range (20000-32767 by default): no outgoing connection is ever
    given one of those as its source port, so a port found free stays free until its server binds it."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (20000, low - 1) if low - 20000 >= 4000 else (low, 65535)


_BAND = _port_band()
_given: set[int] = set()
_rng = random.SystemRandom()  # not the global one: hypothesis seeds that in its tests


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on at ``host`` now, outside the ephemeral range. It is never handed out twice
    in one test process, and under pytest-xdist each worker takes its own share of the band, so two
    servers of one run never race for a port between probing and binding (other processes' servers still
    may: servers are started with ``start_retrying`` or retry on another port themselves)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), worker + 1)
    span = (_BAND[1] - _BAND[0] + 1) // workers
    low = _BAND[0] + worker * span
    for _ in range(500):
        port = _rng.randrange(low, low + span)
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{low + span - 1} on {host}")


def run(cmd: Sequence[str], *, check: bool = True, what: str = "", **kw: Any) -> subprocess.CompletedProcess[str]:
    """``cmd`` with its output captured as text; if ``check``, a failure raises with the tail of what it said."""
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False, **kw)
    if check and proc.returncode:
        said = (proc.stderr or proc.stdout).strip()[-2000:]
        raise RuntimeError(f"{what or cmd[0]} failed ({proc.returncode}): {said}")
    return proc


def spawn(cmd: Sequence[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
    """A daemon in the foreground, stdout and stderr appended to ``log``, no stdin."""
    with log.open("ab") as out:
        return subprocess.Popen(list(cmd), stdout=out, stderr=out, stdin=subprocess.DEVNULL, **kw)


def service_answers(url: str, timeout: float) -> bool:
    """Whether the Gatekeeper service at ``url`` answers ``/healthz`` (200, or 503 while its database is
    away: it is up either way)."""
    import requests

    try:
        return requests.get(url + "/healthz", timeout=timeout).status_code in (200, 503)
    except requests.RequestException:
        return False


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout):
            return True
    except OSError:
        return False


def wait_ready(proc: subprocess.Popen[bytes], ready: Callable[[], bool], *, name: str, what: str,
               tail: Callable[[], str], timeout: float = 10, interval: float = 0.02) -> None:
    """Poll ``ready()`` until it holds; if ``proc`` exits first or time runs out, stop it and raise
    (``RuntimeError``, so callers may retry on other ports) with ``tail()``: the server's own words."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {tail()}")
        if ready():
            return
        time.sleep(interval)
    stop(proc)
    raise RuntimeError(f"{name} did not {what}: {tail()}")


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``condition()`` until it holds; fail with ``what`` when ``timeout`` seconds pass first.
    Tests wait on what they expect this way, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """Stop a server by PID: SIGTERM, and SIGKILL if it has not exited after ``timeout`` seconds."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def log_tail(root: Path, *names: str, lines: int = 20) -> str:
    """The last ``lines`` lines of the named log files under ``root`` (those that exist), on one line."""
    text = "".join((root / n).read_text(errors="replace") for n in names if (root / n).exists())
    return " | ".join(text.strip().splitlines()[-lines:])


def start_retrying(start: Callable[[], T], attempts: int = 3) -> T:
    """``start()`` (pick free ports, write the config, start): again on ``RuntimeError``, since a port may
    be taken between probing and binding."""
    for attempt in range(attempts):
        try:
            return start()
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("attempts must be positive")


# -- TLS material ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path
    wrong_ca: Path  # a CA that did not sign the server certificate


def make_ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_tls(folder: Path, common_name: str, *, dns: Sequence[str] = (), ips: Sequence[str] = (),
             ca_name: str = "Gatekeeper Test CA") -> Tls:
    """A test CA, a server certificate for ``dns``/``ips`` signed by it (key 0600: servers refuse a key
    others may read), and an unrelated CA, as PEM files in ``folder``."""
    ca_key, ca_cert = make_ca(ca_name)
    _, wrong_cert = make_ca("Some Other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([*(x509.DNSName(d) for d in dns),
                                       *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips)])
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(san, critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = Tls(ca=folder / "ca.pem", cert=folder / "server.pem", key=folder / "server-key.pem",
                wrong_ca=folder / "wrong-ca.pem")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.wrong_ca.write_bytes(wrong_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    files.key.chmod(0o600)
    return files
