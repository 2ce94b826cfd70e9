"""The daemon's read-only HTTP endpoints: a WSGI app, served by waitress (tracker.service.http).

Routes live in one table: adding a page is one line in `ROUTES` (a path pattern with
`{name}` placeholders, and a function of the request that returns a `Response`). HEAD gets
the headers GET would, and no body. Nothing here writes, except /readyz's heartbeat.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

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
    route.page = True  # type: ignore[attr-defined]  # judged and drawn: costly, so rationed
    return route


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
    ("/", home),
    ("/goals/{goal_id}", goal_page),
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

    pages_at_once: int = 2
    page_wait: float = 0.25  # a thread waits this long for a page slot at most: probes need threads

    def __post_init__(self) -> None:
        self._table = [(_compile(pattern), handler) for pattern, handler in self.routes]
        # Pages are drawn one at a time anyway (matplotlib); a crowd beyond a few waiting gets
        # 503 at once rather than a queue of minutes, and the server's threads stay free.
        self._pages = threading.BoundedSemaphore(self.pages_at_once)

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
        result = self._handle(handler, Request(environ, found.groupdict(), self.state), path)
        head = environ.get("REQUEST_METHOD") == "HEAD"
        if callable(result):  # a WSGI app of its own, such as prometheus-client's
            return _as_head(result, environ, start_response) if head else result(environ, start_response)
        return _send(result, start_response, head=head)


    def _handle(self, handler: Handler, request: Request, path: str) -> Response | Callable:
        rationed = getattr(handler, "page", False)
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
