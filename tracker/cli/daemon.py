"""`tracker run [--once]`: puts the daemon together and runs it."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.store.runtime import Runtime

if TYPE_CHECKING:
    from tracker.service.daemon import Daemon


def run(
    once: Annotated[bool, typer.Option("--once", help="one evaluation and one delivery pass, then exit")] = False,
) -> None:
    """Run the daemon: evaluate on schedule, deliver webhooks, serve /healthz /readyz /metrics."""
    from tracker.core.errors import TrackerError  # start-up speed
    from tracker.service import logs  # start-up speed
    from tracker.service.lock import DaemonLock  # start-up speed

    runtime = Runtime.from_env()
    runtime.catalog  # an invalid catalog stops here: one line, exit 2
    settings = runtime.settings
    scrubber = logs.setup(runtime)
    threading.excepthook = _log_thread_crash
    daemon, units = _assemble(runtime, scrubber, once=once)  # a bad schedule stops here: exit 2
    lock = DaemonLock(settings.database_url).acquire()  # a second daemon stops here: exit 2
    server = None
    try:
        if once:
            runtime.engine  # a bad database URL is one line and exit 2, not two failed jobs
            status = daemon.once()
        else:
            daemon.install_signal_handlers()  # before migrating: a SIGTERM then is a clean stop
            server = _start_http(daemon, settings)  # a taken port stops here, before any write
            runtime.engine  # migrates a new database before the first job
            status = daemon.serve()
        if status == 0:
            units.leadership.release()  # a successor need not wait out the lease
    except TrackerError:
        raise
    except Exception:
        # An unforeseen crash still leaves one log line with the traceback, and exit 1.
        logs.get("tracker.daemon").exception("daemon crashed")
        status = 1
    finally:
        if server is not None:
            server.stop()
        units.close()
        if "engine" in runtime.__dict__:
            runtime.engine.dispose()
        lock.release()
    if status >= 128:
        # Forced exit on a second signal: the job in hand is abandoned (its transaction never
        # commits), and its executor thread would otherwise be joined at interpreter exit.
        logging.shutdown()
        os._exit(status)
    raise typer.Exit(status)


def _assemble(runtime: Runtime, scrubber: Any, *, once: bool = False) -> tuple[Daemon, Any]:
    """The metrics, the units of work, and the daemon that schedules them."""
    from tracker.catalog.model import plan_for  # start-up speed
    from tracker.service import logs  # start-up speed
    from tracker.service.daemon import Daemon  # start-up speed
    from tracker.service.jobs import Units, build_jobs  # start-up speed
    from tracker.service.metrics import DaemonMetrics  # start-up speed
    from tracker.service.pages import Pages  # start-up speed

    settings = runtime.settings
    metrics = DaemonMetrics()
    pages = None if once or settings.http_port == 0 else Pages(runtime)
    units = Units(runtime, metrics, once=once, on_cycle=pages.publish if pages else lambda now, evaluations: None)

    def jobs_for(catalog):  # type: ignore[no-untyped-def]
        return build_jobs(catalog, settings=settings, units=units)

    def on_reload(catalog):  # type: ignore[no-untyped-def]
        scrubber.add(logs.known_secrets(settings, os.environ, catalog))  # new receivers' secrets

    jobs_for(runtime.catalog)  # a bad schedule is refused before anything starts
    plan_for(runtime.catalog, runtime.settings)  # so is a receiver whose signing secret is missing or malformed
    return Daemon(runtime, metrics, jobs_for, on_reload=on_reload, on_stop=units.stop.set, pages=pages), units


def _log_thread_crash(hook: threading.ExceptHookArgs) -> None:
    from tracker.service import logs  # start-up speed

    logs.get("tracker.daemon").error(
        "thread crashed", thread=getattr(hook.thread, "name", None),
        exc_info=(hook.exc_type, hook.exc_value, hook.exc_traceback),
    )


def _start_http(daemon: Daemon, settings: Any) -> Any:
    if settings.http_port == 0:
        return None
    from tracker.core.errors import ConfigError  # start-up speed
    from tracker.service.web import App, Server  # start-up speed

    try:
        server = Server(App(daemon), settings.http_host, settings.http_port,
                        idle_timeout=settings.http_idle_timeout_seconds)
        return server.start()
    except (OSError, ValueError) as problem:  # waitress says ValueError for a host it cannot resolve
        where = f"{settings.http_host}:{settings.http_port}"
        reason = getattr(problem, "strerror", None) or str(problem)
        unresolved = isinstance(problem, (socket.gaierror, ValueError))
        name = "TRACKER_HTTP_HOST" if unresolved else "TRACKER_HTTP_PORT"
        raise ConfigError(f"setting {name}: cannot listen on {where} ({reason})") from None
