"""``gatekeeper witness serve``: the C2SP tlog-witness HTTP interface (``POST /add-checkpoint``).

A small standard-library HTTP server (one thread per request; the SQLite transaction serialises the
decisions). ``GET /`` answers with the witness's name and verifier key, nothing else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.ledger.checkpoint import ed25519_verify, raw_public_key
from gatekeeper.ledger.note import SIG_COSIGNATURE, NoteVerifier
from gatekeeper.witness import core
from gatekeeper.witness.state import WitnessState

log = logging.getLogger("gatekeeper.witness")


@dataclass
class Witness:
    name: str
    key: Ed25519PrivateKey
    state: WitnessState

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, SIG_COSIGNATURE, raw_public_key(self.key.public_key()))

    def add_checkpoint(self, body: bytes) -> core.Decision:
        public = raw_public_key(self.key.public_key())
        logs = self.state.logs()
        return self.state.handle(lambda latest: core.decide(body, logs, latest, ed25519_verify, self.name, public,
                                                            self.key.sign, int(time.time())), body)


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "gatekeeper-witness"

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/add-checkpoint":
                self._answer(404, "not found\n")
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(411, "Content-Length required\n")
                return
            if not 0 <= length <= core.MAX_BODY:
                self._answer(413, "request too large\n")
                return
            d = witness.add_checkpoint(self.rfile.read(length))
            if d.status != 200:
                log.warning("refused (%d): %s", d.status, d.reason)
            self._answer(d.status, d.body, d.content_type)

        def do_GET(self) -> None:
            if self.path != "/":
                self._answer(404, "not found\n")
                return
            self._answer(200, f"witness {witness.name} {witness.verifier.vkey()}\n")

        def _answer(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
