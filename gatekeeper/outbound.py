"""Every HTTP call Gatekeeper makes to another system (ITSM, webhooks, drift URLs, witnesses, the CLI's
client), with a TOTAL deadline (issue 22 item 9).

``requests``' ``timeout`` bounds each socket read, not the request: a peer answering 200 and then
sending one body byte every half second holds the caller (a signature, a protected push waiting on
the ITSM) for as long as it likes. Here a watchdog timer shuts the connection's socket down when the
deadline passes, wherever the call is blocked (connect, TLS handshake, headers, body), and the body is
read in full within the deadline and up to ``max_bytes``. The sockets are watched through duplicates
of their descriptors, taken when the connection is made, so a shutdown can never reach a socket
that is not this call's. Each call has its own session: no pooled connection outlives its watchdog.

What remains unbounded: name resolution (``getaddrinfo`` cannot be interrupted; the system
resolver's own timeouts apply).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_BYTES = 16 * 1024 * 1024  # an answer larger than this is not one Gatekeeper asked for
CHUNK = 16 * 1024


class DeadlineExceeded(requests.Timeout):
    """The call did not complete within its total deadline (a ``requests.Timeout``)."""


class TooLarge(requests.RequestException):
    """The answer is larger than ``max_bytes``; ``declared`` is its Content-Length when it gave one."""

    def __init__(self, message: str, declared: int | None = None) -> None:
        super().__init__(message)
        self.declared = declared


class _Watch:
    """The sockets of one call, shut down together when its deadline passes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.socks: list[socket.socket] = []
        self.fired = False

    def add(self, sock: socket.socket) -> None:
        dup = sock.dup()  # the same connection; ours to close, whatever the pool does with the original
        with self.lock:
            if not self.fired:
                self.socks.append(dup)
                return
        _shut(dup)
        dup.close()

    def fire(self) -> None:
        with self.lock:
            self.fired = True
            for sock in self.socks:
                _shut(sock)

    def close(self) -> None:
        with self.lock:
            self.fired = True
            for sock in self.socks:
                sock.close()
            self.socks.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv/handshake in the calling thread


def _adapter(watch: _Watch) -> HTTPAdapter:
    """An adapter whose connections report their socket to ``watch`` the moment it is connected."""

    def new_conn(base: type[HTTPConnection]) -> Any:
        def _new_conn(self: HTTPConnection) -> socket.socket:
            sock = base._new_conn(self)
            watch.add(sock)
            return sock
        return _new_conn

    plain = type("WatchedHTTPConnection", (HTTPConnection,), {"_new_conn": new_conn(HTTPConnection)})
    tls = type("WatchedHTTPSConnection", (HTTPSConnection,), {"_new_conn": new_conn(HTTPSConnection)})
    pools = {"http": type("WatchedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
             "https": type("WatchedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls})}

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    return Adapter(max_retries=0)


def request(method: str, url: str, *, timeout: float, max_bytes: int = MAX_BYTES, trust_env: bool = True,
            **kwargs: Any) -> requests.Response:
    """``requests.request`` bounded by ``timeout`` seconds in total, body read in full (``resp.content``).

    Raises ``DeadlineExceeded`` (a ``requests.Timeout``) past the deadline, ``TooLarge`` over
    ``max_bytes``, other ``requests.RequestException`` as ``requests`` does. ``trust_env=False``
    ignores proxy variables and ``.netrc``. Redirects are not followed unless asked for.
    """
    kwargs.setdefault("allow_redirects", False)
    deadline = time.monotonic() + timeout
    watch = _Watch()
    timer = threading.Timer(timeout, watch.fire)
    timer.daemon = True
    timer.start()
    try:
        with requests.Session() as session:
            session.trust_env = trust_env
            adapter = _adapter(watch)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            try:
                resp = session.request(method, url, timeout=timeout, stream=True, **kwargs)
                with resp:
                    resp._content = _body(resp, max_bytes)
                    resp._content_consumed = True
                if watch.fired:  # a body without a length ends at EOF: the watchdog's shutdown is one
                    raise DeadlineExceeded(f"no complete answer within {timeout:g} s")
            except (requests.RequestException, OSError) as exc:
                if watch.fired or time.monotonic() >= deadline:
                    raise DeadlineExceeded(f"no complete answer within {timeout:g} s") from exc
                raise
            return resp
    finally:
        timer.cancel()
        watch.close()


def _body(resp: requests.Response, max_bytes: int) -> bytes:
    declared = resp.headers.get("Content-Length", "")
    if declared.isdecimal() and int(declared) > max_bytes:
        raise TooLarge(f"answer of {declared} bytes exceeds the limit of {max_bytes}", int(declared))
    body = bytearray()
    for chunk in resp.iter_content(CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(f"answer exceeds the limit of {max_bytes} bytes")
    return bytes(body)


def get(url: str, *, timeout: float, **kwargs: Any) -> requests.Response:
    return request("GET", url, timeout=timeout, **kwargs)


def post(url: str, *, timeout: float, **kwargs: Any) -> requests.Response:
    return request("POST", url, timeout=timeout, **kwargs)
