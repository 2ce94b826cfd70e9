"""`tracker run [--once]`: puts the daemon together and runs it."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from tracker.runtime import Runtime


def run(
    once: Annotated[bool, typer.Option("--once", help="one evaluation and one delivery pass, then exit")] = False,
) -> None:
    """Run the daemon: evaluate on schedule, deliver webhooks, serve /healthz /readyz /metrics."""
    from tracker import logs
    from tracker.daemon import Daemon, DaemonLock
    from tracker.jobs import Units, build_jobs
    from tracker.metrics import DaemonMetrics

    runtime = Runtime.from_env()
    settings = runtime.settings
    catalog = runtime.catalog  # an invalid catalog stops here: one line, exit 2
    scrubber = logs.configure(
        settings.resolved_log_format, settings.log_level, secrets=logs.known_secrets(settings, os.environ, catalog)
    )
    lock = DaemonLock(settings.database_url).acquire()
    metrics = DaemonMetrics()
    units = Units(runtime, metrics)

    def jobs_for(catalog):  # type: ignore[no-untyped-def]
        return build_jobs(catalog, settings=settings, units=units)

    jobs_for(catalog)  # a bad schedule is refused before anything starts
    runtime.engine  # migrates a new database before the first job
    daemon = Daemon(runtime, metrics, jobs_for, on_reload=lambda c: scrubber.add(logs.known_secrets(settings, os.environ, c)))
    server = None
    try:
        if once:
            status = daemon.once()
        else:
            daemon.install_signal_handlers()
            server = _start_http(daemon, settings)
            status = daemon.serve()
    finally:
        if server is not None:
            server.stop()
        units.close()
        runtime.engine.dispose()
        lock.release()
    if status >= 128:
        # Forced exit on a second signal: the job in hand is abandoned, and its executor
        # thread would otherwise be joined at interpreter exit.
        logging.shutdown()
        os._exit(status)
    raise typer.Exit(status)


def _start_http(daemon, settings):  # type: ignore[no-untyped-def]
    if settings.http_port == 0:
        return None
    from tracker.errors import ConfigError
    from tracker.web import App, Server

    try:
        return Server(App(daemon), settings.http_host, settings.http_port).start()
    except OSError as problem:
        where = f"{settings.http_host}:{settings.http_port}"
        raise ConfigError(f"setting TRACKER_HTTP_PORT: cannot listen on {where} ({problem.strerror})") from None
