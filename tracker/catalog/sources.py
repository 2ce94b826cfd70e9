"""What the catalog says about collector sources ([[sources]] in the TOML).

Each kind has its own required fields; a field that belongs to the other kind is an error,
so a typo such as a `directory` on an `http_json` source is caught by `check-config`
instead of being silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from tracker.core.goals import Strict

# ${NAME} in a header value is replaced by that environment variable at collection time.
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

_HTTP_FIELDS = ("url", "value_path", "period_path", "records_path", "period")
_CSV_FIELDS = ("directory",)


class SourceConfig(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["http_json", "csv_dir"]
    schedule: str = Field(description="crontab expression in the catalog's time zone")
    failures_before_alert: int = Field(3, ge=1)
    # http_json
    url: str | None = None
    headers: dict[str, str] = {}
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    metric: str | None = None
    value_path: str | None = None
    period_path: str | None = None
    period: Literal["current", "previous"] | None = Field(
        None,
        description="without a period in the JSON: the metric's period containing the collection time, or the one before",
    )
    records_path: str | None = None
    # csv_dir
    directory: Path | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        # Imported here: apscheduler costs ~40 ms, and only catalogs with sources pay it.
        from apscheduler.triggers.cron import CronTrigger  # start-up speed

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as error:
            raise ValueError(f"{value!r} is not a crontab expression ({error})") from None
        return value

    @field_validator("value_path", "period_path", "records_path")
    @classmethod
    def _jmespath(cls, value: str | None) -> str | None:
        if value is not None:
            import jmespath  # start-up speed
            from jmespath.exceptions import JMESPathError  # start-up speed

            try:
                jmespath.compile(value)
            except JMESPathError as error:
                raise ValueError(f"{value!r} is not a JMESPath expression ({str(error).splitlines()[0]})") from None
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return value

        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  raises for a port out of range
        except ValueError as problem:
            raise ValueError(f"is not a valid URL ({problem})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not (name + text).isascii() or not (name + text).isprintable():
                raise ValueError(f"header {name!r}: names and values must be printable ASCII")
            if "$" in ENV_REFERENCE.sub("", text):
                raise ValueError(f"header {name}: write environment references as ${{NAME}}")
        return value

    @model_validator(mode="after")
    def _per_kind(self) -> SourceConfig:
        if self.kind == "http_json":
            _check_http(self)
        else:
            _check_csv(self)
        return self

    def env_names(self) -> list[str]:
        """The environment variables its headers read."""
        return sorted({m for text in self.headers.values() for m in ENV_REFERENCE.findall(text)})


def _set(source: SourceConfig, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if getattr(source, name) is not None]


def _check_http(source: SourceConfig) -> None:
    if stray := _set(source, _CSV_FIELDS):
        raise ValueError(f"{', '.join(stray)} is for csv_dir sources, not http_json")
    if source.url is None:
        raise ValueError("an http_json source needs a url")
    if source.records_path is not None:
        if source.value_path or source.period_path or source.period:
            raise ValueError("records_path replaces value_path, period_path and period: give one or the other")
        return
    if source.metric is None or source.value_path is None:
        raise ValueError("an http_json source needs metric and value_path (or records_path)")
    if (source.period_path is None) == (source.period is None):
        raise ValueError("give exactly one of period_path (the period in the JSON) or period (current or previous)")


def _check_csv(source: SourceConfig) -> None:
    stray = _set(source, _HTTP_FIELDS + ("metric",)) + (["headers"] if source.headers else [])
    if stray:
        raise ValueError(f"{', '.join(stray)} is for http_json sources, not csv_dir")
    if source.directory is None or not str(source.directory).strip() or str(source.directory) == ".":
        raise ValueError("a csv_dir source needs a directory (not empty, and not the catalog's own folder)")
