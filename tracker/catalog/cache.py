"""The catalog's metrics, validated once per catalog content: what `tracker record` and
`tracker import` need, without reading every goal again.

A command that records actuals needs the metric it records (its granularity, bounds and
unit) and the time zone, not the goals. The first such command after the catalog changes
loads and validates it whole (so a broken catalog gives exactly the errors of a full load)
and keeps its metrics in a file under the user's cache directory, named by a hash of the
catalog's bytes, its path, and the versions of the tracker, Python and pydantic; later ones
find the file and unpickle the one metric they need. A missing, unreadable or foreign file is
a miss, never an error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

_FORMAT = 1


class Metrics(Mapping[str, Any]):
    """The catalog's metrics by name, each unpickled on first use."""

    def __init__(self, packed: dict[str, bytes]) -> None:
        self._packed = packed
        self._made: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        found = self._made.get(name)
        if found is None:
            found = self._made[name] = pickle.loads(self._packed[name])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def __contains__(self, name: object) -> bool:
        return name in self._packed


class MetricsView:
    """What recording needs of a catalog: its metrics, time zone and path."""

    def __init__(self, metrics: Mapping[str, Any], timezone: ZoneInfo, path: Path) -> None:
        self.metrics, self.timezone, self.path = metrics, timezone, path


def cache_dir() -> Path:
    from platformdirs import user_cache_dir  # start-up speed

    return Path(user_cache_dir("kpi-tracker")) / "catalogs"


def metrics_view(path: Path, folder: Path | None = None) -> MetricsView:
    """The catalog at `path` as its metrics: from the cache when this content was validated
    before, else by a full load (its errors as they are), then kept for next time."""
    from tracker.catalog.model import load_catalog  # start-up speed

    resolved = path  # as tracker.catalog.locate found it
    try:
        content = resolved.read_bytes()
    except OSError:
        return _view(load_catalog(path))  # the full load says what is wrong with the file
    file = (folder or cache_dir()) / f"{_key(resolved, content)}.pickle"
    found = _read(file)
    if found is not None:
        return MetricsView(Metrics(found["metrics"]), ZoneInfo(found["timezone"]), resolved)
    catalog = load_catalog(path)
    _write(file, {"format": _FORMAT, "timezone": str(catalog.timezone),
                  "metrics": {name: pickle.dumps(m, pickle.HIGHEST_PROTOCOL) for name, m in catalog.metrics.items()}})
    return _view(catalog)


def _view(catalog: Any) -> MetricsView:
    return MetricsView(catalog.metrics, catalog.timezone, catalog.path)


def _key(path: Path, content: bytes) -> str:
    import pydantic  # start-up speed

    from tracker import __version__  # start-up speed

    digest = hashlib.blake2b(digest_size=20)
    for part in (str(_FORMAT), __version__, sys.version, pydantic.VERSION, str(path.absolute())):
        digest.update(part.encode() + b"\0")
    digest.update(content)
    return digest.hexdigest()


def _read(file: Path) -> dict[str, Any] | None:
    try:
        with file.open("rb") as handle:
            found = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError):
        return None
    ok = isinstance(found, dict) and found.get("format") == _FORMAT and isinstance(found.get("metrics"), dict)
    return found if ok else None


def _write(file: Path, data: dict[str, Any]) -> None:
    """Written beside and renamed into place, readable by its owner only; a cache that
    cannot be written is left out."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, name = tempfile.mkstemp(dir=file.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            pickle.dump(data, out, pickle.HIGHEST_PROTOCOL)
        os.replace(name, file)
    except OSError:
        return

