"""The daemon's read-only HTTP endpoints, on the standard library's WSGI server.

`wsgiref` with a threading server is what prometheus_client's own `start_http_server` runs:
HTTP parsing stays in the standard library, each request gets a thread, and nothing here
writes. Routes live in one table: adding a page is one line in `ROUTES` (a path pattern with
`{name}` placeholders, and a function of the request that returns a `Response`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tracker.service import logs
from tracker.views import dashboard


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes | str
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, value: Any) -> Response:
        return cls(status, json.dumps(value, ensure_ascii=False) + "\n", "application/json")


@dataclass
class Request:
    environ: dict[str, Any]
    params: dict[str, str]
    state: Any  # what the daemon shares with the web: see daemon.WebState


Handler = Callable[[Request], "Response | Callable"]
_REASONS = {
    200: "OK", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable"
}


def healthz(_request: Request) -> Response:
    """The process is alive and serving HTTP."""
    return Response(200, "ok\n")


def readyz(request: Request) -> Response:
    """Ready when the database answers, a catalog is loaded and the scheduler runs."""
    checks = request.state.readiness()
    ready = all(ok for ok, _ in checks.values())
    named = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}
    body = {"ready": ready, "checks": named}
    return Response.json(200 if ready else 503, body)


def metrics(request: Request) -> Callable:
    """Prometheus exposition, by prometheus-client's own WSGI app (content negotiation, gzip)."""
    from prometheus_client import make_wsgi_app  # heavy, on demand

    return make_wsgi_app(request.state.metrics.registry)


def _page(handler: Callable[..., tuple[int, str, bytes]]) -> Handler:
    """A tracker.views.dashboard handler as a route: called with the daemon's runtime (its catalog,
    database and clock) and the path's `{names}`."""

    def route(request: Request) -> Response:
        status, content_type, body = handler(request.state.runtime, **request.params)
        return Response(status, body, content_type)

    route.__doc__ = handler.__doc__
    return route


ROUTES: list[tuple[str, Handler]] = [
    ("/healthz", healthz),
    ("/readyz", readyz),
    ("/metrics", metrics),
    ("/", _page(dashboard.report_page)),
    ("/api/status", _page(dashboard.api_status)),
    ("/api/goals/{goal_id}", _page(dashboard.api_goal)),
]


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$")


@dataclass
class App:
    """The WSGI application: dispatches GET and HEAD requests through the route table."""

    state: Any
    routes: list[tuple[str, Handler]] = field(default_factory=lambda: list(ROUTES))

    def __post_init__(self) -> None:
        self._table = [(_compile(pattern), handler) for pattern, handler in self.routes]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        for pattern, handler in self._table:
            found = pattern.match(path)
            if found:
                break
        else:
            return _send(Response(404, "not found\n"), start_response)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            refused = Response(405, "read-only: use GET\n", headers=(("Allow", "GET, HEAD"),))
            return _send(refused, start_response)
        try:
            result = handler(Request(environ, found.groupdict(), self.state))
        except Exception:
            logs.get("tracker.web").exception("request failed", path=path)
            result = Response(500, "internal error\n")
        if callable(result):  # a WSGI app of its own, such as prometheus-client's
            return result(environ, start_response)
        return _send(result, start_response)


def _send(response: Response, start_response: Callable) -> list[bytes]:
    body = response.body.encode() if isinstance(response.body, str) else response.body
    headers = [("Content-Type", response.content_type), ("Content-Length", str(len(body))), *response.headers]
    start_response(f"{response.status} {_REASONS.get(response.status, '')}".strip(), headers)
    return [body]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    # Daemon threads, so that a slow client never holds up the exit; but an exit while a
    # thread is inside matplotlib's C++ aborts the process, so stop() waits (bounded) for
    # the requests in flight.
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve, args=(request, client_address), daemon=True)
        self.in_flight.add(thread)
        thread.start()

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self.in_flight.discard(threading.current_thread())

    def wait_for_requests(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for thread in list(self.in_flight):
            thread.join(max(0.0, deadline - time.monotonic()))


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to our structured log at debug level, not raw to stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
        logs.get("tracker.web").debug("http request", client=self.client_address[0], line=format % args)


class Server:
    """The HTTP server on a thread of its own; `port` 0 binds an ephemeral port."""

    def __init__(self, app: App, host: str, port: int, *, poll_interval: float = 0.5) -> None:
        self.httpd = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        self.httpd.in_flight = set()
        self.port: int = self.httpd.server_address[1]
        self.host = host
        # serve_forever wakes every poll_interval to see whether stop() was called
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, args=(poll_interval,), name="http", daemon=True
        )

    def start(self) -> Server:
        self.thread.start()
        logs.get("tracker.web").info("http listening", host=self.host, port=self.port)
        return self

    def stop(self, *, wait_seconds: float = 15.0) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd.wait_for_requests(wait_seconds)
