"""Logging: structlog for our own events, the same renderer for stdlib loggers.

One JSON object per line when stderr is not a terminal (log pipelines read that), a
coloured console otherwise. apscheduler, httpx and alembic log through the stdlib; a
`ProcessorFormatter` renders their records with the same processors, so every line of a
daemon's log has one shape.

Secrets never reach the output: `Scrubber` masks values under secret-looking keys and any
occurrence of the secrets the process knows (the webhook secret, its key, receivers'
secrets, database passwords, webhook URLs with their tokens) in every string of an event,
tracebacks included. Tracebacks are rendered without frame locals for the same reason.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from sqlalchemy.engine import make_url
from structlog.typing import EventDict, Processor

from tracker.core import urls

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(r"secret|password|passwd|token|authorization|signature|api[_-]?key", re.I)
# Chatty at INFO (httpx logs every request URL, apscheduler every job run): ours say it better.
_QUIET = {"apscheduler": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING,
          # waitress warns of every queued request under a burst; the 503s and probes say it better
          "waitress.queue": logging.ERROR}


class Scrubber:
    """A structlog processor that masks secrets anywhere in an event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Adds secrets (a reloaded catalog's receivers, say); one assignment, thread-safe.
        A URL is added by its meaning: its path, query and password in every form a library
        may write them, so a normalised URL (`https://hooks.example.com/T/B/x` for
        `https://HOOKS.example.com:443/T/B/x`) is masked as well as the one configured."""
        expanded: set[str] = set()
        for secret in secrets:
            if secret and "://" in secret:
                expanded |= urls.variants(secret)
            elif secret:
                expanded.add(secret)
        known = {*self.secrets, *(s for s in expanded if len(s) >= 4)}
        # Longest first, so a URL is masked whole before a token inside it.
        self.secrets = sorted(known, key=len, reverse=True)

    def __call__(self, _logger: Any, _name: str, event: EventDict) -> EventDict:
        return {key: self._clean(key, value) for key, value in event.items()}

    def _clean(self, key: str, value: Any) -> Any:
        if _SECRET_KEY.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean("", v) for v in value]
        return value

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return urls.mask_in_text(text)  # any URL's query and credentials, known or not


def known_secrets(settings: Any, environ: Mapping[str, str], catalog: Any = None) -> list[str]:
    """Every secret this process may hold, so that the scrubber can mask it anywhere."""
    found: list[str] = []
    if settings.webhook_secret is not None:
        value = settings.webhook_secret.get_secret_value()
        found += [value, value.removeprefix("whsec_")]
    if settings.webhook_url:
        found.append(settings.webhook_url)  # paths and queries often carry tokens (Slack's do)
    try:
        password = make_url(settings.database_url).password
    except Exception:  # malformed: take whatever stands between user: and @
        found += list(urls.variants(settings.database_url))
        password = None
    if password:
        found.append(str(password))
    for receiver in getattr(catalog, "receivers", ()):
        found += [str(v) for v in receiver.headers.values()]
        found += receiver.secret_values(environ)  # resolved URLs, keys, passwords, file contents
    for source in getattr(catalog, "sources", ()):
        # ${NAME} in a source's headers is read from the environment: each value is a secret.
        found += [environ[name] for name in source.env_names() if environ.get(name)]
    return found


def processors(scrubber: Scrubber) -> list[Processor]:
    """What every event goes through, ours and the stdlib's, before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        scrubber,
    ]


def renderer(fmt: str, scrubber: Scrubber) -> Processor:
    """The last steps: the traceback as data (dicts in JSON, plain text on a console; never
    frame locals), scrubbed once it is text, then the format, and a last mask over the line.

    The console's traceback is plain text on purpose: rich colours tokens inside a message,
    which splits a secret across escape codes where no mask can find it.
    """
    if fmt == "json":
        transformer = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        steps: list[Processor] = [structlog.processors.ExceptionRenderer(transformer), scrubber,
                                  structlog.processors.JSONRenderer(default=str)]
    else:
        steps = [structlog.processors.format_exc_info, scrubber,
                 structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)]

    def render(logger: Any, name: str, event: EventDict) -> str:
        for step in steps:
            event = step(logger, name, event)
        return scrubber.mask(str(event))

    return render


def setup(runtime: Any, environ: Mapping[str, str] | None = None, *, command: bool = False,
          verbose: int = 0) -> Scrubber:
    """Logging for a command that does work (run, evaluate, deliver, collect): the format and
    level from settings, to stderr, with every secret this process may hold masked.
    `command`: a one-shot command rather than the daemon (see `command_level`)."""
    settings = runtime.settings
    secrets = known_secrets(settings, os.environ if environ is None else environ, runtime.catalog)
    level = command_level(settings, verbose, sys.stderr.isatty()) if command else settings.log_level
    return configure(settings.resolved_log_format, level, secrets=secrets)


def command_level(settings: Any, verbose: int, terminal: bool) -> str:
    """A command's level: `-v` info, `-vv` debug; else TRACKER_LOG_LEVEL when it is set; else
    warnings and errors on a terminal (a person wants the answer, not the steps) and the
    settings' level (info) for a log pipeline."""
    if verbose:
        return "debug" if verbose > 1 else "info"
    if "log_level" in settings.model_fields_set or not terminal:
        return settings.log_level
    return "warning"


def configure(
    fmt: str, level: str = "info", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> Scrubber:
    """Sets up structlog and the stdlib root logger to write `fmt` lines to `stream`."""
    scrubber = Scrubber(secrets)
    shared = processors(scrubber)
    structlog.configure(
        # filter_by_level first: a debug line below the level costs one check, no processing
        processors=[
            structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer(fmt, scrubber)],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    debug = level == "debug"
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(logging.DEBUG if debug else quiet)
    logging.captureWarnings(True)
    return scrubber


def get(name: str = "tracker") -> Any:
    return structlog.stdlib.get_logger(name)


@contextmanager
def job_context(**values: Any) -> Iterator[None]:
    """Binds `values` for one job run, starting from a clean context.

    Executor threads are reused, and context variables set in one run would otherwise leak
    into the next job that lands on the same thread.
    """
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.clear_contextvars()


bound = structlog.contextvars.bound_contextvars
"""Binds goal/metric/receiver for a block inside a job: `with logs.bound(goal=goal.id): ...`"""
