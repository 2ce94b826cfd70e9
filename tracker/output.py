"""Printing for people (rich, on stdout) and for scripts (JSON). Errors go to stderr."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def jsonable(value: Any) -> Any:
    """Decimals become JSON numbers (integers stay integers); instants ISO 8601 with offset."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    json.dump(jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console()


def error(message: str) -> None:
    sys.stderr.write(f"tracker: error: {message}\n")


def redact_url(url: str | None) -> str | None:
    """Scheme and host only: webhook paths and queries often carry tokens (Slack's do)."""
    if not url:
        return url
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/..." if parts.path.strip("/") or parts.query else f"{parts.scheme}://{host}{port}"
