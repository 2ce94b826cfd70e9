"""The daemon's read-only HTTP endpoints: a WSGI app, served by waitress (tracker.service.http).

Routes live in one table: adding a page is one line in `ROUTES` (a path pattern with
`{name}` placeholders, and a function of the request that returns a `Response`). HEAD gets
the headers GET would, and no body, on every path (errors included). Nothing here writes,
except /readyz's heartbeat and POST /-/reload (off unless TRACKER_HTTP__ENABLE_LIFECYCLE).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.exposition import gzip_accepted

from tracker.service import logs
from tracker.service.http import Server
from tracker.views import dashboard

__all__ = ["App", "Request", "Response", "ROUTES", "Server"]


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
READS = ("GET", "HEAD")  # what a route answers unless it says otherwise (`handler.methods`)
_REASONS = {
    200: "OK", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
    503: "Service Unavailable",
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


def metrics(request: Request) -> Response:
    """Prometheus exposition (text, or OpenMetrics on request; gzip when accepted): the goal
    series as the last cycle rendered them, then the live counters. No evaluation per scrape."""
    environ = request.environ
    body, headers = request.state.metrics.exposition(environ.get("HTTP_ACCEPT", ""),
                                                     environ.get("HTTP_ACCEPT_ENCODING", ""))
    content_type = headers.pop("Content-Type")
    return Response(200, body, content_type, (*headers.items(), ("Vary", "Accept-Encoding")))


def api_status(request: Request) -> Response:
    """The JSON of `tracker status --json`, as the last evaluation cycle found it; judged
    afresh only before the first cycle and on a replica that follows (the leader judges)."""
    snapshot = _snapshot(request)
    if snapshot is None or not snapshot.evaluated:
        return _live_status(request)
    body, vary = snapshot.status_body(), ("Vary", "Accept-Encoding")
    if gzip_accepted(request.environ.get("HTTP_ACCEPT_ENCODING", "")):
        return Response(200, body.gzip_with(b""), "application/json", (("Content-Encoding", "gzip"), vary))
    return Response(200, body.data, "application/json", (vary,))


def _snapshot(request: Request) -> Any:
    metrics = getattr(request.state, "metrics", None)  # a bare page server (the browser test) has none
    return getattr(metrics, "snapshot", None)


def _status_is_live(request: Request) -> bool:
    snapshot = _snapshot(request)
    return snapshot is None or not snapshot.evaluated


def reload(request: Request) -> Response:
    """POST (or PUT) /-/reload re-reads the catalog as SIGHUP does, when
    TRACKER_HTTP__ENABLE_LIFECYCLE is true; answers as Prometheus's lifecycle API does."""
    if not request.state.runtime.settings.http.enable_lifecycle:
        return Response(403, "Lifecycle API is not enabled.\n")
    if not request.state.scheduler_running():
        return Response(503, "starting: try again shortly\n", headers=(("Retry-After", "1"),))
    reason = request.state.reload_catalog()
    if reason is not None:
        return Response(500, f"failed to reload config: {reason}\n")
    return Response(200, "")


reload.methods = ("POST", "PUT")  # type: ignore[attr-defined]


def _page(handler: Callable[..., tuple[int, str, bytes]]) -> Handler:
    """A tracker.views.dashboard handler as a route: called with the daemon's runtime (its catalog,
    database and clock) and the path's `{names}`."""

    def route(request: Request) -> Response:
        status, content_type, body = handler(request.state.runtime, **request.params)
        return Response(status, body, content_type)

    route.__doc__ = handler.__doc__
    route.page = True  # type: ignore[attr-defined]  # judged and drawn: costly, so rationed
    return route


_live_status = _page(dashboard.api_status)
api_status.page = _status_is_live  # type: ignore[attr-defined]  # rationed only when judged here


def home(request: Request) -> Response:
    """The report as of the last evaluation cycle, rendered once per cycle (tracker.service.pages)."""
    status, content_type, body = request.state.pages.page()
    return Response(status, body, content_type)


def goal_page(request: Request) -> Response:
    """One goal's card with its chart, drawn on demand by the render worker."""
    status, content_type, body = request.state.pages.goal(request.params["goal_id"])
    return Response(status, body, content_type)


goal_page.page = True  # type: ignore[attr-defined]  # waits on the worker: rationed


ROUTES: list[tuple[str, Handler]] = [
    ("/healthz", healthz),
    ("/readyz", readyz),
    ("/metrics", metrics),
    ("/-/reload", reload),
    ("/", home),
    ("/goals/{goal_id}", goal_page),
    ("/api/status", api_status),
    ("/api/goals/{goal_id}", _page(dashboard.api_goal)),
]


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$")


@dataclass
class App:
    """The WSGI application: dispatches GET and HEAD requests through the route table."""

    state: Any
    routes: list[tuple[str, Handler]] = field(default_factory=lambda: list(ROUTES))

    pages_at_once: int = 2
    page_wait: float = 0.25  # a thread waits this long for a page slot at most: probes need threads

    def __post_init__(self) -> None:
        self._table = [(_compile(pattern), handler) for pattern, handler in self.routes]
        # Pages are drawn one at a time anyway (matplotlib); a crowd beyond a few waiting gets
        # 503 at once rather than a queue of minutes, and the server's threads stay free.
        self._pages = threading.BoundedSemaphore(self.pages_at_once)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD")
        head = method == "HEAD"
        for pattern, handler in self._table:
            found = pattern.match(path)
            if found:
                break
        else:
            return _send(Response(404, "not found\n"), start_response, head=head)
        methods = getattr(handler, "methods", READS)
        if method not in methods:
            allowed = ", ".join(methods)
            said = "read-only: use GET\n" if methods == READS else f"Only {' or '.join(methods)} requests allowed\n"
            return _send(Response(405, said, headers=(("Allow", allowed),)), start_response, head=head)
        result = self._handle(handler, Request(environ, found.groupdict(), self.state), path)
        if callable(result):  # a WSGI app of its own, such as prometheus-client's
            return _as_head(result, environ, start_response) if head else result(environ, start_response)
        return _send(result, start_response, head=head)


    def _handle(self, handler: Handler, request: Request, path: str) -> Response | Callable:
        page = getattr(handler, "page", False)
        rationed = page(request) if callable(page) else page
        if rationed and not self._pages.acquire(timeout=self.page_wait):
            return Response(503, "busy: try again shortly\n", headers=(("Retry-After", "1"),))
        try:
            return handler(request)
        except Exception:
            logs.get("tracker.web").exception("request failed", path=path)
            return Response(500, "internal error\n")
        finally:
            if rationed:
                self._pages.release()


def _send(response: Response, start_response: Callable, *, head: bool = False) -> list[bytes]:
    body = response.body.encode() if isinstance(response.body, str) else response.body
    headers = [("Content-Type", response.content_type), ("Content-Length", str(len(body))), *response.headers]
    start_response(f"{response.status} {_REASONS.get(response.status, '')}".strip(), headers)
    return [] if head else [body]


def _as_head(app: Callable, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    """HEAD through a WSGI app of its own: run as a GET (prometheus-client refuses HEAD), then
    the same status and headers with the body's length, and no body (not even a chunked end)."""
    said: list[Any] = []
    body = app({**environ, "REQUEST_METHOD": "GET"}, lambda status, headers, exc_info=None: said.extend([status, headers]))
    try:
        length = sum(len(chunk) for chunk in body)
    finally:
        getattr(body, "close", lambda: None)()
    status, headers = said
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
    start_response(status, [*kept, ("Content-Length", str(length))])
    return []
