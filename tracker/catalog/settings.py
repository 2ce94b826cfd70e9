"""Settings from the environment (prefix `TRACKER_`, nested with `__`).

Built once in the command line's entry point and passed down; there is no module-level
instance, so importing this module reads nothing.
"""

from __future__ import annotations

import base64
import binascii
import sys
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracker.core.errors import ConfigError
from tracker.core.urls import with_password

DEFAULT_CONFIG = Path("config/goals.toml")


def default_database_url() -> str:
    """A SQLite file in the user's data directory (created on first use)."""
    from platformdirs import user_data_path  # only when unset

    return f"sqlite:///{user_data_path('kpi-tracker') / 'tracker.db'}"


class EvaluateSettings(BaseModel):
    cron: str = Field("0 * * * *", description="when the daemon evaluates (crontab, catalog time zone)")
    interval_seconds: float | None = Field(
        None, gt=0, description="when set, evaluate every this many seconds instead of on `cron`"
    )


class LeadershipSettings(BaseModel):
    ttl_seconds: float = Field(
        30.0, ge=1, le=3600, description="evaluation lease among replicas on PostgreSQL: a dead leader is replaced "
        "within this; renewed every third of it"
    )


class DeliverSettings(BaseModel):
    interval_seconds: float = Field(5.0, gt=0, description="how often the daemon delivers")
    timeout_seconds: float = Field(
        15.0, gt=0, le=300, description="whole-request deadline per attempt (connect, headers and body together)"
    )
    concurrency: int = Field(4, ge=1, le=64, description="webhooks in flight at once per receiver")
    drain_seconds: float = Field(
        20.0, ge=0, le=3600, description="on SIGTERM, how long requests in flight may take to finish"
    )


class HttpSettings(BaseModel):
    enable_lifecycle: bool = Field(
        False, description="accept POST /-/reload (as Prometheus's --web.enable-lifecycle): reloads the catalog"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRACKER_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = Field(default_factory=default_database_url)
    # The password apart from the URL (compose, Docker or systemd secrets): any character works.
    database_password: SecretStr | None = None
    database_password_file: Path | None = None
    config: Path = DEFAULT_CONFIG
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    log_format: Literal["json", "console"] | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    http_port: int = Field(9464, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    http_idle_timeout_seconds: int = Field(
        10, ge=1, le=3600, description="an HTTP connection with no request in progress is closed after this"
    )
    external_url: str | None = Field(
        None, pattern=r"^https?://",
        description="how others reach this daemon (externalURL, generatorURL and links in alerts)",
    )
    evaluate: EvaluateSettings = EvaluateSettings()
    deliver: DeliverSettings = DeliverSettings()
    leadership: LeadershipSettings = LeadershipSettings()
    http: HttpSettings = HttpSettings()  # TRACKER_HTTP__*, beside the older flat TRACKER_HTTP_HOST/_PORT

    @model_validator(mode="after")
    def _password_into_url(self) -> Settings:
        if self.database_password is not None and self.database_password_file is not None:
            raise ValueError("database_password: give TRACKER_DATABASE_PASSWORD or TRACKER_DATABASE_PASSWORD_FILE, "
                             "not both")
        password = self.database_password.get_secret_value() if self.database_password is not None else None
        if self.database_password_file is not None:
            password = _read_secret(self.database_password_file)
        if password is not None:
            try:
                self.database_url = with_password(self.database_url, password)
            except ValueError as problem:
                raise ValueError(f"database_password: {problem}") from None
        return self

    @field_validator("webhook_secret")
    @classmethod
    def _secret_form(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_secret(value.get_secret_value())
        return value

    @field_validator("webhook_url")
    @classmethod
    def _url_form(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @property
    def resolved_log_format(self) -> str:
        if self.log_format:
            return self.log_format
        return "console" if sys.stderr.isatty() else "json"


def _read_secret(path: Path) -> str:
    """A secret file's content without its final newline (as `echo` or an editor leaves it)."""
    try:
        return path.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
    except (OSError, UnicodeDecodeError) as problem:
        reason = getattr(problem, "strerror", None) or str(problem)
        raise ValueError(f"database_password_file: cannot read {path} ({reason})") from None


SECRET_BYTES = (24, 64)  # the Standard Webhooks specification's bounds on a key


def check_secret(value: str) -> None:
    """Standard Webhooks secrets: one or more, space-separated while they rotate, each
    `whsec_` and a base64 key of 24 to 64 bytes. Raises ValueError (without the value) so
    every place a secret comes from reports it the same way."""
    parts = value.split()
    if not parts:
        raise ValueError("must start with 'whsec_' followed by a base64 key")
    for number, part in enumerate(parts, 1):
        which = f"secret {number} of {len(parts)} " if len(parts) > 1 else ""
        if not part.startswith("whsec_"):
            raise ValueError(f"{which}must start with 'whsec_' followed by a base64 key")
        try:
            key = base64.b64decode(part.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            key = b""
        if not key:
            raise ValueError(f"{which}the key after 'whsec_' must be non-empty base64")
        low, high = SECRET_BYTES
        if not low <= len(key) <= high:
            raise ValueError(f"{which}key is {len(key)} bytes; the specification asks for {low} to {high}")


def load_settings() -> Settings:
    """Reads the environment; a bad value is a ConfigError naming the variable."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        loc, message = tuple(first["loc"]), first["msg"].removeprefix("Value error, ")
        if not loc:  # a check across fields names its field first: "field: reason"
            field, _, message = message.partition(": ")
            loc = (field,)
        name = "TRACKER_" + "__".join(str(part) for part in loc).upper()
        raise ConfigError(f"setting {name}: {message}") from None
