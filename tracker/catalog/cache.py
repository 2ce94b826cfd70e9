"""The catalog validated once per content: its metrics for `tracker record` and `tracker
import`, without reading every goal again, and the whole catalog for the commands and the
daemon that judge.

A command that records actuals needs the metric it records (its granularity, bounds and
unit) and the time zone, not the goals. The first such command after the catalog changes
loads and validates it whole (so a broken catalog gives exactly the errors of a full load)
and keeps its metrics in a file under the user's cache directory, named by a hash of the
catalog's bytes, its path, the source of the code that validates it (tracker.catalog and
tracker.core) and the versions of the tracker, Python and pydantic; later ones find the file
and unpickle the one metric they need. A missing, unreadable or foreign file is a miss,
never an error.

A command that judges needs every goal: `catalog` keeps the validated catalog itself, with
each goal's definition digest (Catalog.definition), in a file of its own beside the metrics
(10,000 goals: unpickled in 0.09 s, against 0.32 s to parse and validate and 0.4 s for the
digests). A catalog whose receivers read files (a `*_file` setting) is not kept: the file's
content could change under the same catalog, and a secret read from it must not be copied.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tracker.core.heap import collector_paused

_FORMAT = 2


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

    file, found = _lookup(path, folder, "metrics")
    if isinstance(found, dict):
        return MetricsView(Metrics(found["metrics"]), ZoneInfo(found["timezone"]), path)
    catalog = load_catalog(path)
    if file is not None:
        metrics = {name: pickle.dumps(m, pickle.HIGHEST_PROTOCOL) for name, m in catalog.metrics.items()}
        _write(file, "metrics", {"timezone": str(catalog.timezone), "metrics": metrics})
    return _view(catalog)


def catalog(path: Path, folder: Path | None = None) -> Any:
    """The catalog at `path`, validated: unpickled when this content was validated before,
    else loaded in full (its errors as they are) and kept for next time when it may be."""
    from tracker.catalog.model import Catalog, load_catalog  # start-up speed

    file, found = _lookup(path, folder, "catalog")
    if isinstance(found, Catalog):
        return found
    loaded = load_catalog(path)
    if file is not None and _keepable(loaded):
        with collector_paused():
            for goal in loaded.goals:
                loaded.definition(goal)
        _write(file, "catalog", loaded)
    return loaded


def _keepable(catalog: Any) -> bool:
    """Whether the validated catalog may be kept: none of its receivers reads a file."""
    return not any(getattr(receiver, name) is not None for receiver in catalog.receivers
                   for name in type(receiver).model_fields if name.endswith("_file"))


def _lookup(path: Path, folder: Path | None, kind: str) -> tuple[Path | None, Any]:
    """The cache file of this kind for the catalog's content, and what it holds (None: a
    miss); no file when the catalog cannot be read (the full load then says why)."""
    try:
        content = path.read_bytes()
    except OSError:
        return None, None
    file = (folder or cache_dir()) / f"{_key(path, content)}.{kind}.pickle"
    with collector_paused():  # every object unpickled lives on: nothing to collect
        return file, _read(file, kind)


def _view(catalog: Any) -> MetricsView:
    return MetricsView(catalog.metrics, catalog.timezone, catalog.path)


def _key(path: Path, content: bytes) -> str:
    """`<catalog path's digest>-<digest of the rest>`: a file written for a path replaces
    the path's earlier ones (`_write`), so that editing a catalog leaves one file, not one per
    version (5 MB each at 10,000 goals)."""
    import pydantic  # start-up speed

    from tracker import __version__  # start-up speed

    where = hashlib.blake2b(str(path.absolute()).encode(), digest_size=10).hexdigest()
    digest = hashlib.blake2b(digest_size=20)
    for part in (str(_FORMAT), __version__, sys.version, pydantic.VERSION):
        digest.update(part.encode() + b"\0")
    digest.update(_code_digest())
    digest.update(content)
    return f"{where}-{digest.hexdigest()}"


@cache
def _code_digest() -> bytes:
    """Of the validating code's source files (under 1 ms): an edit in a working copy must
    not be served the catalog as the code before it validated it."""
    root, digest = Path(__file__).resolve().parent.parent, hashlib.blake2b(digest_size=16)
    for part in _CODE:
        for source in sorted((root / part).glob("*.py")):
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.digest()


_CODE = ("catalog", "core")


def _read(file: Path, kind: str) -> Any:
    """What the file holds, or None when it is missing, unreadable or not ours."""
    try:
        with file.open("rb") as handle:
            found = pickle.load(handle)
    except Exception:  # a cache: whatever a damaged or foreign file raises is a miss
        return None
    return found.get(kind) if isinstance(found, dict) and found.get("format") == _FORMAT else None


def _write(file: Path, kind: str, entry: Any) -> None:
    """Written beside and renamed into place, readable by its owner only, replacing the
    catalog path's earlier file of this kind; a cache that cannot be written (or pickled)
    is left out."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, name = tempfile.mkstemp(dir=file.parent, suffix=".part")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump({"format": _FORMAT, kind: entry}, out, pickle.HIGHEST_PROTOCOL)
        os.replace(name, file)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        Path(name).unlink(missing_ok=True)
        return
    where = file.name.partition("-")[0]
    for older in file.parent.glob(f"{where}-*.{kind}.pickle"):
        if older != file:
            older.unlink(missing_ok=True)
    for unnamed in file.parent.glob("*.pickle"):  # versions before 2 named files by one hash, one per edit
        if "-" not in unnamed.name:
            unnamed.unlink(missing_ok=True)
