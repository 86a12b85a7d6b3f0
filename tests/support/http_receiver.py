"""A real HTTP server on 127.0.0.1 for webhook and ITSM tests (stdlib ``ThreadingHTTPServer`` in a thread).

Every request is recorded (method, path, query, headers, body). ``script`` lists the answers to give
in turn — a status code, or ``"timeout"`` to stay silent past the client's timeout, or ``"drip"``
(``"drip-headers"``) to answer 200 and then send the body (the headers too) one byte every
``drip_interval`` seconds, which no per-read timeout ends — then 200.
``routes`` maps ``(method, path)`` to a function answering ``(status, json)``: the ServiceNow and
Jira fakes serve their documented JSON shapes through it. Webhook requests are verified with the
``standardwebhooks`` package when a secret is given, and counted by ``webhook-id``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    verified: bool | None = None

    def json(self) -> Any:
        return json.loads(self.body)


Route = Callable[[Request], tuple[int, Any]]


@dataclass
class Receiver:
    secret: str | None = None
    script: list[int | str] = field(default_factory=list)
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    silence: float = 3.0
    drip_interval: float = 0.5
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answered(self) -> list[Request]:
        """Requests that got a 2xx (what the sender counts as delivered)."""
        with self.lock:
            return [r for r in self.requests if getattr(r, "status", 0) // 100 == 2]

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(r.headers.get("webhook-id", "") for r in self.requests)

    def _answer(self, req: Request) -> tuple[int | str, Any]:
        route = self.routes.get((req.method, req.path))
        if route is not None:
            return route(req)
        if self.routes:  # an API fake: anything it does not serve does not exist
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
        with self.lock:
            step = self.script.pop(0) if self.script else 200
        return step, {"ok": True}

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(self.command, parts.path, parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                if receiver.secret and "webhook-signature" in req.headers:
                    try:
                        Webhook(receiver.secret).verify(body, req.headers)
                        req.verified = True
                    except WebhookVerificationError:
                        req.verified = False
                status, payload = receiver._answer(req)
                if req.verified is False:
                    status = 401
                with receiver.lock:
                    receiver.requests.append(req)
                if status == "timeout":
                    time.sleep(receiver.silence)
                    status = 200
                if status in ("drip", "drip-headers"):
                    return self._drip(json.dumps(payload).encode() + b" " * 200, status == "drip-headers")
                req.status = int(status)  # type: ignore[attr-defined]
                data = json.dumps(payload).encode()
                try:
                    self.send_response(int(status))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

            def _drip(self, body: bytes, headers_too: bool) -> None:
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode()
                try:
                    if not headers_too:
                        self.wfile.write(head)
                        self.wfile.flush()
                    for byte in (head if headers_too else b"") + body:
                        time.sleep(receiver.drip_interval)
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:
                    pass  # the client hung up: what its deadline does
                self.close_connection = True

            do_GET = do_POST = do_PATCH = do_PUT = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# -- the documented JSON shapes of the two ITSM APIs ----------------------------------------------------
def servicenow(tickets: dict[str, str], notes: list[tuple[str, str]], user: str, password: str) -> dict[
        tuple[str, str], Route]:
    """``GET /api/now/table/change_request?sysparm_query=number=X`` → ``{"result": [{number, state, sys_id}]}``;
    ``PATCH /api/now/table/change_request/<sys_id>`` with ``work_notes``. HTTP Basic is checked."""
    import base64

    def authorised(req: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return req.headers.get("authorization") == expected

    def query(req: Request) -> tuple[int, Any]:
        if not authorised(req):
            return 401, {"error": {"message": "User Not Authenticated"}}
        q = req.query.get("sysparm_query", [""])[0]
        number = q.removeprefix("number=") if q.startswith("number=") and "^" not in q else None
        if number in tickets:
            return 200, {"result": [{"number": number, "state": tickets[number], "sys_id": f"sys-{number.lower()}"}]}
        return 200, {"result": []}

    routes: dict[tuple[str, str], Route] = {("GET", "/api/now/table/change_request"): query}
    for number in tickets:
        def patch(req: Request, number: str = number) -> tuple[int, Any]:
            if not authorised(req):
                return 401, {}
            notes.append((number, req.json()["work_notes"]))
            return 200, {"result": {"number": number, "sys_id": f"sys-{number.lower()}"}}
        routes[("PATCH", f"/api/now/table/change_request/sys-{number.lower()}")] = patch
    return routes


def jira(issues: dict[str, str], comments: list[tuple[str, str]], token: str) -> dict[tuple[str, str], Route]:
    """``GET /rest/api/2/issue/KEY?fields=status`` → ``{"key", "fields": {"status": {"name"}}}`` (404 when
    unknown); ``POST /rest/api/2/issue/KEY/comment`` with ``body``. A Bearer token is checked."""
    routes: dict[tuple[str, str], Route] = {}
    for key, status in issues.items():
        def get(req: Request, key: str = key, status: str = status) -> tuple[int, Any]:
            if req.headers.get("authorization") != f"Bearer {token}":
                return 401, {"errorMessages": ["unauthorised"]}
            return 200, {"id": "10001", "key": key, "fields": {"status": {"name": status, "id": "3"}}}

        def comment(req: Request, key: str = key) -> tuple[int, Any]:
            if req.headers.get("authorization") != f"Bearer {token}":
                return 401, {}
            comments.append((key, req.json()["body"]))
            return 201, {"id": "20001", "body": req.json()["body"]}
        routes[("GET", f"/rest/api/2/issue/{key}")] = get
        routes[("POST", f"/rest/api/2/issue/{key}/comment")] = comment
    return routes

