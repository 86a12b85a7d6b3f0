"""The hooks' one HTTP call, over a plain socket for ``http://`` service URLs.

``urllib.request`` / ``http.client`` import the e-mail parser, ssl and more: about 40 ms, more than a
whole plain push (bench/hook_overhead.py). A hook sends one JSON POST with ``Connection: close``
and reads one response, so a socket does it; ``https://`` URLs go through ``http.client`` (TLS needs
it anyway).
"""

from __future__ import annotations

CLOSED = ("the service closed the connection without answering (its worker was killed or restarted "
          "mid-request?)")


def post_json(url: str, path: str, body: bytes, token: str, timeout: float) -> tuple[int, bytes]:
    """POST ``body`` to ``url + path``; returns (status, response body). Raises ``OSError`` on failure."""
    scheme, _, rest = url.partition("://")
    hostport, _, prefix = rest.partition("/")
    target = "/" + (prefix.strip("/") + path if prefix else path.lstrip("/"))
    headers = {"Host": hostport, "Content-Type": "application/json", "Authorization": f"Bearer {token}",
               "Content-Length": str(len(body)), "Connection": "close"}
    if scheme == "https":
        import http.client

        conn = http.client.HTTPSConnection(hostport, timeout=timeout)
        try:
            conn.request("POST", target, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (http.client.RemoteDisconnected, http.client.IncompleteRead, ConnectionResetError) as exc:
            raise OSError(CLOSED) from exc
        finally:
            conn.close()
    import socket

    host, port = _split(hostport)
    head = f"POST {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    import time

    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout  # for the whole answer, not each read (issue 22): a slow drip ends too
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(head.encode("latin-1") + body)
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                if not (data := sock.recv(65536)):
                    break
                chunks.append(data)
            else:
                raise TimeoutError(f"no complete answer within {timeout:g} s")
        except TimeoutError:
            raise TimeoutError(f"no complete answer within {timeout:g} s") from None
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise OSError(CLOSED) from exc  # the peer went away: say so, not "connection reset by peer"
    return _parse(b"".join(chunks))


def _split(hostport: str) -> tuple[str, int]:
    if hostport.startswith("["):  # [::1]:8080
        host, _, port = hostport[1:].partition("]")
        return host, int(port.lstrip(":") or 80)
    host, _, port = hostport.partition(":")
    return host, int(port or 80)


def _parse(raw: bytes) -> tuple[int, bytes]:
    if not raw:
        raise OSError(CLOSED)
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdecimal():
        if not sep and raw.startswith(b"HTTP/"):
            raise OSError(CLOSED.replace("without answering", "in the middle of its answer"))
        raise OSError("malformed HTTP response from the service")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if len(body) < length:
            raise OSError(CLOSED.replace("without answering", "in the middle of its answer"))
        body = body[:length]
    return int(parts[1]), body


def _dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:  # the last chunk never came: the service went away mid-answer
            raise OSError(CLOSED.replace("without answering", "in the middle of its answer"))
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2:end + 2 + size])
        pos = end + 2 + size + 2
