"""Structured logs: one JSON object per line, stdlib loggers in the same shape, no secrets,
no frame locals."""

from __future__ import annotations

import io
import json
import logging

import pytest

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLWxvZy10ZXN0cw=="
KEY = SECRET.removeprefix("whsec_")


@pytest.fixture
def capture():
    """Configures logging into a buffer; restores the previous set-up afterwards."""
    import structlog

    from tracker.service import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()

    def configure(fmt="json", level="info", secrets=(SECRET, KEY)):
        logs.configure(fmt, level, secrets=secrets, stream=buffer)
        return buffer

    yield configure
    root.handlers[:], level = saved
    root.setLevel(level)
    structlog.reset_defaults()


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_ours_and_the_stdlibs_are_json_lines_of_one_shape(capture):
    from tracker.service import logs

    buffer = capture()
    logs.get("tracker.test").info("job done", goals=13)
    logging.getLogger("apscheduler.scheduler").warning("Run time of job %r was missed", "evaluate")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade -> 0001")
    found = lines(buffer)
    assert [(f["logger"], f["level"], f["event"]) for f in found] == [
        ("tracker.test", "info", "job done"),
        ("apscheduler.scheduler", "warning", "Run time of job 'evaluate' was missed"),
        ("alembic.runtime.migration", "info", "Running upgrade -> 0001"),
    ]
    assert all(f["timestamp"].endswith("Z") for f in found)


@pytest.mark.parametrize(
    ("logger", "level", "shown"),
    [("httpx", logging.INFO, False), ("httpx", logging.WARNING, True), ("apscheduler.executors", logging.INFO, False),
     ("tracker.jobs", logging.DEBUG, False), ("tracker.jobs", logging.INFO, True)],
    ids=["httpx-info-quiet", "httpx-warning", "apscheduler-info-quiet", "debug-below-level", "ours-info"],
)
def test_levels_keep_an_idle_daemon_quiet(capture, logger, level, shown):
    buffer = capture()
    logging.getLogger(logger).log(level, "something")
    assert bool(buffer.getvalue()) is shown


@pytest.mark.parametrize(
    "emit",
    [
        lambda log: log.info("sending", url=f"http://127.0.0.1/hook?token={KEY}"),
        lambda log: log.info("settings", webhook_secret=SECRET),
        lambda log: log.info("nested", headers={"Authorization": "Bearer abc"}, extra=[{"k": SECRET}]),
        lambda log: logging.getLogger("httpx").warning("POST with %s", SECRET),
    ],
    ids=["key-in-a-url", "secret-key-name", "nested-and-authorization", "stdlib-arguments"],
)
def test_secrets_never_reach_the_output(capture, emit):
    from tracker.service import logs

    buffer = capture()
    emit(logs.get("tracker.test"))
    text = buffer.getvalue()
    assert text and SECRET not in text and KEY not in text and "Bearer abc" not in text
    assert "[REDACTED]" in text


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_carry_neither_frame_locals_nor_secrets(capture, fmt):
    from tracker.service import logs

    buffer = capture(fmt)
    try:
        private_note = "pn-" + str(7000 + 731)  # noqa: F841 (a local: shown only with locals on)
        raise ValueError(f"cannot sign with {KEY}")
    except ValueError:
        logs.get("tracker.test").exception("job failed")
    text = buffer.getvalue()
    assert SECRET not in text and KEY not in text and "pn-7731" not in text
    assert "cannot sign with [REDACTED]" in text
    if fmt == "json":
        [line] = lines(buffer)
        [exception] = line["exception"]
        assert exception["exc_type"] == "ValueError"
        assert exception["frames"] and all("locals" not in frame for frame in exception["frames"])


def test_known_secrets_covers_settings_catalog_and_environment(catalog):
    from tracker.catalog.routing import Receiver
    from tracker.catalog.settings import Settings
    from tracker.service.logs import known_secrets

    settings = Settings(webhook_url="https://hooks.example/T0/B0/abc", webhook_secret=SECRET,
                        database_url="postgresql+psycopg://u:pg-pass@db/x")
    with_receiver = catalog.model_copy(update={"receivers": (
        Receiver(name="ops", url="https://ops.example/hook/xyz", secret_env="OPS_SECRET", headers={"X-Token": "tok-1"}),
    )})
    from tracker.catalog.sources import SourceConfig

    with_receiver = with_receiver.model_copy(update={"sources": (SourceConfig(
        name="feed", kind="http_json", schedule="0 9 * * *", url="https://ir.example/feed.json", metric="ev_deliveries",
        value_path="v", period_path="p", headers={"Authorization": "Bearer ${FEED_TOKEN}"}),)})
    environ = {"OPS_SECRET": "whsec_b3BzLXNlY3JldC1vZi10aGUtcmVjZWl2ZXItb3Bz", "FEED_TOKEN": "feed-tok-9"}
    found = known_secrets(settings, environ, with_receiver)
    assert set(found) >= {SECRET, KEY, "https://hooks.example/T0/B0/abc", "pg-pass", "https://ops.example/hook/xyz",
                          "tok-1", "whsec_b3BzLXNlY3JldC1vZi10aGUtcmVjZWl2ZXItb3Bz", "b3BzLXNlY3JldC1vZi10aGUtcmVjZWl2ZXItb3Bz", "feed-tok-9"}


def test_job_context_starts_clean_and_is_cleared_after(capture):
    import structlog

    from tracker.service import logs

    buffer = capture()
    structlog.contextvars.bind_contextvars(goal="left-over")
    with logs.job_context(job="deliver"):
        with logs.bound(receiver="ops"):
            logs.get("tracker.test").info("delivery pass")
        logs.get("tracker.test").info("job done")
    assert structlog.contextvars.get_contextvars() == {}
    first, second = lines(buffer)
    assert (first["job"], first["receiver"], "goal" in first) == ("deliver", "ops", False)
    assert (second["job"], "receiver" in second) == ("deliver", False)
