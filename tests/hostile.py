"""Small hostile HTTP servers on 127.0.0.1 for the shared client's tests: each connection is
answered by a function writing raw bytes, so a server can misbehave in ways no framework allows."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from urllib.parse import parse_qsl, urlsplit

import orjson


@contextmanager
def raw_server(answer: Callable[..., None], *, wants_request: bool = False) -> Iterator[str]:
    """Yields the server's base URL; `answer(conn)` writes the response to each connection
    (`answer(conn, request_bytes)` with `wants_request`)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                request = conn.recv(65536)
                with suppress(OSError):  # the client gave up and closed: that is the point
                    if wants_request:
                        answer(conn, request)
                    else:
                        answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@contextmanager
def json_server(respond: Callable[[str, dict[str, str]], object]) -> Iterator[str]:
    """A server answering every GET with `respond(path, query)` as JSON (status 200), closing
    each connection: for paging that no real service should ever do. Counts its requests."""

    def answer(conn: socket.socket, request: bytes) -> None:
        target = request.split(b" ", 2)[1].decode()
        parts = urlsplit(target)
        body = orjson.dumps(respond(parts.path, dict(parse_qsl(parts.query))))
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    with raw_server(answer, wants_request=True) as url:
        yield url
