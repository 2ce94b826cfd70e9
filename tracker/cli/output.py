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


def warn(message: str) -> None:
    sys.stderr.write(f"tracker: warning: {message}\n")


def version() -> str:
    """The installed distribution's version; the package's own when run from a checkout."""
    from importlib.metadata import PackageNotFoundError  # start-up speed
    from importlib.metadata import version as installed  # start-up speed

    try:
        return installed("kpi-tracker")
    except PackageNotFoundError:
        from tracker import __version__  # start-up speed

        return __version__
