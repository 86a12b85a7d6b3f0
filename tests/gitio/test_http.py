"""The hook's HTTP call says plainly what went wrong when the service goes away mid-request (issue 12):
real sockets on 127.0.0.1 play a worker killed before, or in the middle of, its answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from gatekeeper.gitio.http import post_json


@contextmanager
def server(behave: Callable[[socket.socket], None]) -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            behave(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        thread.join(5)
        listener.close()


def _close(conn: socket.socket) -> None:
    pass  # the worker dies: the connection closes with nothing sent


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close


def _half_body(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"allow\": tr")


def _half_head(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")


def _half_chunks(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")


@pytest.mark.parametrize("behave", [_close, _reset, _half_body, _half_head, _half_chunks])
def test_a_killed_worker_is_named_as_such(behave: Callable[[socket.socket], None]) -> None:
    with server(behave) as url, pytest.raises(OSError) as info:
        post_json(url, "/api/v1/hooks/pre-receive", b"{}", "token", 5)
    assert "the service closed the connection" in str(info.value)
    assert "malformed" not in str(info.value)


def test_a_whole_answer_still_parses() -> None:
    def ok(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    with server(ok) as url:
        assert post_json(url, "/x", b"{}", "t", 5) == (200, b"{}")


def test_a_real_push_says_the_service_closed_the_connection(tmp_path: object) -> None:
    """A real git push through the installed hooks, the service's worker dying mid-request (it reads
    the request, then the connection closes): the protected push is refused, and the pusher is told why."""
    from pathlib import Path

    from tests.support.git import make_repo
    from tests.support.plant import make_plant

    plant = make_plant(Path(str(tmp_path)) / "plant")
    repo = make_repo(plant)
    repo.commit({"cfg/a.txt": "a\n"}, "a")
    listener = socket.create_server(("127.0.0.1", plant.port))

    def dying_worker() -> None:
        for _ in range(2):  # pre-receive only (refused), but tolerate a second call
            try:
                listener.settimeout(20)
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=dying_worker, daemon=True)
    thread.start()
    try:
        pushed = repo.push("HEAD:refs/heads/main")
    finally:
        listener.close()
        thread.join(5)
    assert not pushed.ok
    assert f"service at {plant.url}: the service closed the connection without answering" in pushed.text()
    assert "malformed" not in pushed.stderr
    assert "refusing refs/heads/main: protected branch, and the service cannot check it (fail closed)" in pushed.text()
