"""Which catalog file is in use, and how it was found.

In order: the TRACKER_CONFIG setting; ./config/goals.toml in the working directory; the
shipped catalog. The shipped catalog has one source, config/goals.toml in the repository: a
wheel carries a copy inside the package (pyproject.toml's force-include puts it at
tracker/catalog/_data/goals.toml), and an editable install or a checkout reads the
repository's file itself, found beside the package, as the migrations are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.catalog.settings import DEFAULT_CONFIG

SETTING = "setting TRACKER_CONFIG"
WORKING_DIRECTORY = "./config/goals.toml in the working directory"
PACKAGED = "the packaged copy"


@dataclass(frozen=True)
class CatalogFile:
    path: Path  # as the setting gave it, or absolute
    found: str  # how: SETTING, WORKING_DIRECTORY or PACKAGED

    @property
    def absolute(self) -> Path:
        return self.path.absolute()


def packaged_catalog(package: Path | None = None) -> Path | None:
    """The shipped catalog: inside the installed package, else beside the package's source."""
    here = package or Path(__file__).resolve().parent
    for candidate in (here / "_data" / "goals.toml", here.parents[1] / DEFAULT_CONFIG):
        if candidate.is_file():
            return candidate
    return None


def locate(settings: Any, *, package: Path | None = None) -> CatalogFile:
    """The catalog `settings` mean; a file that does not exist is reported by the reader."""
    if "config" in settings.model_fields_set:
        return CatalogFile(Path(settings.config), SETTING)
    if DEFAULT_CONFIG.is_file():
        return CatalogFile(DEFAULT_CONFIG.absolute(), WORKING_DIRECTORY)
    packaged = packaged_catalog(package)
    return CatalogFile(packaged, PACKAGED) if packaged else CatalogFile(DEFAULT_CONFIG, WORKING_DIRECTORY)
