"""Helpers for the evaluation tests: readings and instants in the catalog's time zone."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from tracker.core.periods import Period
from tracker.core.readings import Reading

SHANGHAI = ZoneInfo("Asia/Shanghai")
RECORDED = datetime(2020, 1, 1, tzinfo=timezone.utc)


def local(text: str) -> datetime:
    """An instant written in Shanghai time, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(timezone.utc)


def series(metric: str, values: dict[str, str]) -> list[Reading]:
    return [Reading(metric, Period.parse(p), Decimal(v), RECORDED) for p, v in values.items()]


def readings(**metrics: dict[str, str]) -> dict[str, list[Reading]]:
    return {name: series(name, values) for name, values in metrics.items()}


def months(year: int, values: list[str]) -> dict[str, str]:
    return {f"{year}-{i + 1:02d}": v for i, v in enumerate(values)}


def quarters(year: int, values: list[str]) -> dict[str, str]:
    return {f"{year}-Q{i + 1}": v for i, v in enumerate(values)}
