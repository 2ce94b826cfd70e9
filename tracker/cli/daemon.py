"""`tracker run [--once]`: puts the daemon together and runs it."""

from __future__ import annotations

import errno
import os
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

    runtime = Runtime.from_env()
    runtime.catalog  # an invalid catalog stops here: one line, exit 2
    scrubber = logs.setup(runtime)
    threading.excepthook = _log_thread_crash
    try:
        status = _run(runtime, scrubber, once=once)
    except TrackerError as problem:
        # The log is where operators look: the refusal goes there too, as the same one line.
        logs.get("tracker.daemon").error("daemon cannot run", reason=str(problem))
        raise
    if status >= 128:
        # Forced exit on a second signal: the job in hand is abandoned (its transaction never
        # commits), and its executor thread would otherwise be joined at interpreter exit.
        import logging  # start-up speed

        logging.shutdown()
        os._exit(status)
    raise typer.Exit(status)


def _run(runtime: Runtime, scrubber: Any, *, once: bool) -> int:
    from tracker.core.errors import TrackerError  # start-up speed
    from tracker.service import logs  # start-up speed
    from tracker.service.lock import DaemonLock  # start-up speed

    settings = runtime.settings
    for warning in unknown_settings(runtime):
        logs.get("tracker.daemon").warning(warning)
    preflight(runtime)  # what check-config checks: schedules, receivers, address, database URL
    daemon, units = _assemble(runtime, scrubber, once=once)  # a bad schedule stops here: exit 2
    lock = DaemonLock(settings.database_url).acquire()  # a second daemon stops here: exit 2
    server = None
    try:
        if once:
            _open_database(runtime, daemon)  # a bad database is one line and exit 2, not two failed jobs
            status = daemon.once()
        else:
            daemon.install_signal_handlers()  # before migrating: a SIGTERM then is a clean stop
            server = _start_http(daemon, settings)  # a taken port stops here, before any write
            _open_database(runtime, daemon)  # migrates a new database before the first job
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
    return status


def _open_database(runtime: Runtime, daemon: Daemon) -> None:
    """Migrates the database and proves it takes a write (the heartbeat /readyz writes), so
    that a read-only file is refused at start rather than failing every job."""
    from sqlalchemy.exc import SQLAlchemyError  # start-up speed

    from tracker.core.errors import Unavailable  # start-up speed
    from tracker.core.urls import mask_password  # start-up speed
    from tracker.store import heartbeat  # start-up speed
    from tracker.store.db import db_reason  # start-up speed

    try:
        heartbeat.beat(runtime.engine, holder=daemon.holder, now=runtime.now())
    except SQLAlchemyError as problem:  # what tracker.store.faults does not explain: a full disk
        shown = mask_password(runtime.settings.database_url)
        raise Unavailable(f"database {shown}: {db_reason(problem)}") from None


def unknown_settings(runtime: Runtime) -> list[str]:
    """Warnings for TRACKER_* variables that no setting and no catalog reference reads."""
    from tracker.catalog.environment import unknown_variables  # start-up speed

    catalog = runtime.__dict__.get("catalog")
    return unknown_variables(os.environ, catalog)


def preflight(runtime: Runtime) -> None:
    """Everything `tracker run` refuses before it starts, for `tracker check-config`: the
    schedules and receivers (as built for the daemon), the HTTP address and the database URL."""
    from sqlalchemy.engine import make_url  # start-up speed

    from tracker.catalog.model import plan_for  # start-up speed
    from tracker.service.jobs import Units, build_jobs  # start-up speed
    from tracker.service.metrics import DaemonMetrics  # start-up speed
    from tracker.store.db import check_url, refuse_memory  # start-up speed

    settings = runtime.settings
    check_url(settings.database_url)
    refuse_memory(make_url(settings.database_url))  # the daemon writes
    build_jobs(runtime.catalog, settings=settings, units=Units(runtime, DaemonMetrics()))
    plan_for(runtime.catalog, settings)
    if settings.http_port:
        check_listen_address(settings.http_host)


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
        name = "TRACKER_HTTP_PORT" if _port_fault(problem) else "TRACKER_HTTP_HOST"
        raise ConfigError(f"setting {name}: cannot listen on {where} ({reason})") from None


def _port_fault(problem: BaseException) -> bool:
    """Whether a failed listen is the port's fault (taken, or privileged) rather than the
    host's (not an address of this machine, or no address at all)."""
    return isinstance(problem, OSError) and problem.errno in (errno.EADDRINUSE, errno.EACCES)


def check_listen_address(host: str) -> None:
    """TRACKER_HTTP_HOST names an address of this machine: it resolves, and a socket binds to
    it (on a port the system picks, so a running daemon's own port does not count against it)."""
    import socket  # start-up speed

    from tracker.core.errors import ConfigError  # start-up speed

    try:
        found = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, _, _, address = found[0]
        with socket.socket(family, kind) as probe:
            probe.bind(address)
    except (OSError, UnicodeError) as problem:
        reason = getattr(problem, "strerror", None) or str(problem)
        raise ConfigError(f"setting TRACKER_HTTP_HOST: {host!r} is not an address of this machine ({reason})") from None
