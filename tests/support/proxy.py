"""A tiny TCP load balancer / cable for tests and benchmarks: round-robin over upstreams, and it can be
cut (``stop``: listener and every open connection closed) and mended (``start``) to play a network or
database outage. Threads only; binds 127.0.0.0/8 addresses."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress


class TcpProxy:
    def __init__(self, listen: tuple[str, int], upstreams: list[tuple[str, int]]) -> None:
        self.listen, self.upstreams = listen, upstreams
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server: socket.socket | None = None
        self.connections = 0

    def start(self) -> TcpProxy:
        server = socket.create_server(self.listen, reuse_port=False)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()
        with self._lock:
            socks, self._open = list(self._open), set()
        for s in socks:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = self._connect()
            if upstream is None:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            pending = [2]  # both directions; the pair is closed when both have ended
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b, pending), daemon=True).start()

    def _connect(self) -> socket.socket | None:
        """The next upstream in turn; one that refuses the connection is skipped (as nginx's
        ``proxy_next_upstream error`` does), so a host being restarted costs no request."""
        with self._lock:
            first = self.connections
            self.connections += 1
        for i in range(len(self.upstreams)):
            target = self.upstreams[(first + i) % len(self.upstreams)]
            try:
                upstream = socket.create_connection(target, timeout=10)
            except OSError:
                continue
            upstream.settimeout(None)
            return upstream
        return None

    def _pipe(self, src: socket.socket, dst: socket.socket, pending: list[int]) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        with self._lock:
            pending[0] -= 1
            last = pending[0] == 0
            if last:
                self._open.discard(src)
                self._open.discard(dst)
        if last:
            src.close()
            dst.close()
