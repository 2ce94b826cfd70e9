"""Loopback webhook receivers that misbehave, on raw sockets (an HTTP library would buffer
or normalise what they must do wrong): one port per behaviour, one thread per connection.

- `hang`: reads the request and never answers.
- `drip`: answers one byte of a status line every 0.2 s, forever.
- `huge`: 200 with a 1 GiB body, streamed from one 64 KiB buffer (never held whole).
- `redirect`: 302 to another path of itself.
- `retry_after`: 429 with `Retry-After: 99999999999999999`.
- `healthy`: 204, noting each webhook-id and when it arrived (monotonic).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

GIB = 1 << 30
_CHUNK = b"\0" * 65536


def _read_request(conn: socket.socket) -> bytes:
    """The head and body of one request (by Content-Length), or b'' when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return b""
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        more = conn.recv(65536)
        if not more:
            break
        body += more
    return head


def _header(head: bytes, name: bytes) -> str:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode()
    return ""


class HostileReceivers:
    def __init__(self) -> None:
        self.closing = threading.Event()
        self.arrivals: dict[str, list[tuple[str, float]]] = {}
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()
        self._listeners: list[socket.socket] = []
        self.urls: dict[str, str] = {}
        for name in ("hang", "drip", "huge", "redirect", "retry_after", "healthy"):
            self.urls[name] = self._listen(name, getattr(self, f"_{name}"))

    def _listen(self, name: str, behave: Callable[[socket.socket, bytes], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listeners.append(listener)
        threading.Thread(target=self._accept, args=(listener, name, behave), daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/hook?token=q-secret-{name}"

    def _accept(self, listener: socket.socket, name: str, behave: Callable) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, name, behave), daemon=True).start()

    def _serve(self, conn: socket.socket, name: str, behave: Callable) -> None:
        try:
            with conn:
                while not self.closing.is_set():
                    head = _read_request(conn)
                    if not head:
                        return
                    with self._lock:
                        self.requests[name] = self.requests.get(name, 0) + 1
                        self.arrivals.setdefault(name, []).append((_header(head, b"webhook-id"), time.monotonic()))
                    behave(conn, head)
        except OSError:
            pass  # the client gave up: that is the point

    def _hang(self, conn: socket.socket, _head: bytes) -> None:
        self.closing.wait(120)
        raise OSError("closing")

    def _drip(self, conn: socket.socket, _head: bytes) -> None:
        while not self.closing.wait(0.2):
            conn.sendall(b"H")

    def _huge(self, conn: socket.socket, _head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\n\r\n" % GIB)
        for _ in range(GIB // len(_CHUNK)):
            conn.sendall(_CHUNK)

    def _redirect(self, conn: socket.socket, _head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")

    def _retry_after(self, conn: socket.socket, _head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 99999999999999999\r\n"
                     b"Content-Length: 0\r\n\r\n")

    def _healthy(self, conn: socket.socket, _head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    def close(self) -> None:
        self.closing.set()
        for listener in self._listeners:
            listener.close()


def catalog_with_receivers(tmp_path, urls: dict[str, str], *, timeout: float | None = None,  # type: ignore[no-untyped-def]
                           concurrency: int | None = None):
    """The shipped catalog plus one native receiver per URL; returns the file's path."""
    from tests.conftest import CATALOG

    lines = [CATALOG.read_text(encoding="utf-8")]
    for name, url in urls.items():
        lines += ["", "[[receivers]]", f'name = "{name.replace("_", "-")}"', f'url = "{url}"']
        if timeout is not None:
            lines.append(f"timeout_seconds = {timeout}")
        if concurrency is not None:
            lines.append(f"concurrency = {concurrency}")
    path = tmp_path / "goals.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
