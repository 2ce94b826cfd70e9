"""What the catalog says about collector sources."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from tracker.goals import Strict


class SourceConfig(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["http_json", "csv_dir"]
    schedule: str = Field(description="crontab expression in the catalog's time zone")
    metric: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    value_path: str | None = None
    period_path: str | None = None
    directory: Path | None = None
    failures_before_alert: int = Field(3, ge=1)
