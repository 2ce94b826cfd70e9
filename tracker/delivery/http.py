"""An HTTP client whose requests have a whole-request deadline, and a capped body reader.

httpx's timeouts are per operation: a receiver that drips one byte a second never trips a
10 s read timeout. Here every socket operation (connect, TLS, each write, each read) waits
at most until the deadline of the request in hand, so connect, headers and body together
end by it. The deadline is per thread: a delivery thread sends one request at a time, and a
pooled connection reads the deadline of whichever request is using it now.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

MAX_BODY = 64 * 1024  # bytes of a response that are read; the rest is never read
_local = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every socket operation of this thread's requests ends within `seconds` from now."""
    _local.until = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.until = None


def _clamp(timeout: float | None) -> float | None:
    until = getattr(_local, "until", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # One write of a large body can trickle; clamp per chunk so it cannot outlive the deadline.
        for start in range(0, len(buffer), 65536):
            self._inner.write(buffer[start:start + 65536], _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.SyncBackend):
    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _Stream(super().connect_tcp(host, port, _clamp(timeout), local_address, socket_options))


def deadline_client(timeout: float) -> httpx.Client:
    """A client for receivers: no redirects followed (a signed request must not go elsewhere),
    no proxy from the environment, each socket operation bounded by `timeout` and by the
    thread's `deadline`. Connections are not limited here: each receiver's lane is."""
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=None, max_keepalive_connections=64))
    pool = transport._pool  # httpx has no parameter for the network backend; pinned by a test
    transport._pool = httpcore.ConnectionPool(
        ssl_context=pool._ssl_context, max_connections=None, max_keepalive_connections=64,
        keepalive_expiry=5.0, network_backend=_Backend(),
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)


def read_capped(response: httpx.Response, limit: int = MAX_BODY) -> bytes:
    """Up to `limit` bytes of a streamed response's body; the rest is left unread (closing
    the response then drops the connection instead of draining it)."""
    if response.is_stream_consumed:  # a test transport hands the body over already read
        return response.content[:limit]
    taken = bytearray()
    for chunk in response.iter_raw(chunk_size=16384):
        taken += chunk[: limit - len(taken)]
        if len(taken) >= limit:
            break
    return bytes(taken)
