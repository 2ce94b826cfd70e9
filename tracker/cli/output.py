"""Printing for people (rich, on stdout) and for scripts (JSON). Errors go to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from tracker.core.jsonable import jsonable


def print_json(value: Any) -> None:
    json.dump(jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console  # start-up speed

    return Console()


def error(message: str) -> None:
    sys.stderr.write(f"tracker: error: {message}\n")
