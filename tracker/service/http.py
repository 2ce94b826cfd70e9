"""The HTTP server under the daemon's WSGI app: waitress, tuned for an exposed port.

Why waitress: its one I/O thread reads and parses every connection without blocking (an
idle or slowloris connection costs a descriptor, never a thread), and only complete requests
go to a small pool of threads. On top of its own settings (a normal listen backlog, a bound
on open connections, idle connections closed after `idle_timeout`):
- the connection bound is kept well under the process's descriptor limit, so that delivery
  and the database always have descriptors left;
- health probes (/healthz, /readyz) go to the front of the queue: a burst of report
  requests never keeps a probe waiting;
- a connection whose first byte cannot start an HTTP request (a TLS hello, binary garbage)
  is closed at once instead of waiting for a header end that never comes.
`stop()` stops accepting, waits (bounded) for the requests in flight, then closes: exiting
while a thread is inside matplotlib's C++ aborts the process.
"""

from __future__ import annotations

import resource
import threading
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from tracker.service import logs

PROBES = ("/healthz", "/readyz")
_REQUEST_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n")  # a method's first letter (or a stray CRLF)
MAX_CONNECTIONS = 4096
ACCEPT_BATCH = 256  # connections taken per turn of the I/O loop


class _Dispatcher(ThreadedTaskDispatcher):
    def add_task(self, task: Any) -> None:
        requests = getattr(task, "requests", None)
        if requests and getattr(requests[0], "path", None) in PROBES:
            with self.lock:
                self.queue.appendleft(task)  # a probe answers in microseconds: let it pass
                self.queue_cv.notify()
            return
        super().add_task(task)


class _Channel(HTTPChannel):
    def received(self, data: bytes) -> bool:
        if self.request is None and not self.requests and data and data[0] not in _REQUEST_START:
            self.will_close = True  # closed on the I/O thread's next turn
            return False
        return super().received(data)


class _Server(TcpWSGIServer):
    channel_class = _Channel

    def handle_accept(self) -> None:
        # waitress takes one connection per turn of its loop, and a turn walks every open
        # connection: under a burst a probe would queue behind hundreds of turns. Take what
        # is waiting, up to the connection bound.
        for _ in range(ACCEPT_BATCH):
            if len(self._map) >= self.adj.connection_limit:
                return
            try:
                accepted = self.accept()
                if accepted is None:
                    return
                conn, addr = accepted
                self.set_socket_options(conn)
            except OSError:
                return  # a client gone before we got to it
            self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)


def connection_limit() -> int:
    """Half the descriptors this process may open (raised to the hard limit first)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # keep the soft limit we have
    usable = MAX_CONNECTIONS * 2 if soft == resource.RLIM_INFINITY else soft
    return max(16, min(MAX_CONNECTIONS, usable // 2))


class Server:
    """The HTTP server on a thread of its own; `port` 0 binds an ephemeral port."""

    def __init__(self, app: Any, host: str, port: int, *, idle_timeout: int = 10, threads: int = 8) -> None:
        # The I/O loop's poll timeout stays waitress's 1 s: waitress reads it as whole seconds
        # (int), so anything under 1 became 0 and the loop spun a core at idle. Nothing waits on
        # it: stop() and new responses wake the loop through its trigger.
        adj = Adjustments(
            host=host, port=port, threads=threads, backlog=1024, connection_limit=connection_limit(),
            channel_timeout=idle_timeout, cleanup_interval=1, asyncore_use_poll=True,
            asyncore_loop_timeout=1, ident="kpi-tracker", expose_tracebacks=False,
            max_request_header_size=16384, max_request_body_size=65536, clear_untrusted_proxy_headers=True,
        )
        self.dispatcher = _Dispatcher()
        self.dispatcher.set_thread_count(threads)
        self.map: dict[int, Any] = {}
        self.httpd = _Server(app, self.map, dispatcher=self.dispatcher, adj=adj, sockinfo=adj.listen[0])
        self.host, self.port = host, int(self.httpd.effective_port)
        self.thread = threading.Thread(target=self.httpd.run, name="http", daemon=True)

    def start(self) -> Server:
        self.thread.start()
        logs.get("tracker.web").info("http listening", host=self.host, port=self.port)
        return self

    def stop(self, *, wait_seconds: float = 15.0) -> None:
        """Stops accepting, lets requests in flight finish (at most `wait_seconds`), closes."""
        stopped = threading.Event()

        def stop_accepting() -> None:
            self.httpd.accepting = False
            self.httpd.del_channel()
            self.httpd.socket.close()
            stopped.set()

        self.httpd.trigger.pull_trigger(stop_accepting)
        stopped.wait(2.0)
        self.dispatcher.shutdown(cancel_pending=True, timeout=wait_seconds)
        self.httpd.trigger.pull_trigger(lambda: wasyncore.close_all(self.map))
        self.thread.join(5.0)
