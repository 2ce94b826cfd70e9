"""TRACKER_* variables that nothing reads: a misspelt setting is otherwise ignored without a
word (TRACKER_DATABSE_URL, and the tracker writes to the default database).

Known are the settings' variables (nested ones with `__`, and the nested group itself, which
pydantic-settings reads as JSON), the variables the catalog refers to (receivers'
`secret_env`, `${NAME}` in sources' headers), and TRACKER_TEST_*, the test suite's own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from tracker.catalog.settings import Settings

PREFIX = "TRACKER_"
_RESERVED = ("TRACKER_TEST_",)


def setting_names(model: type[BaseModel] = Settings, prefix: str = PREFIX) -> list[str]:
    """Every variable a settings model reads, nested models' fields joined with `__`."""
    names: list[str] = []
    for field, info in model.model_fields.items():
        name = f"{prefix}{field.upper()}"
        names.append(name)
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names += setting_names(kind, f"{name}__")
    return names


def catalog_names(catalog: Any) -> list[str]:
    """The environment variables a catalog refers to."""
    names = [r.secret_env for r in getattr(catalog, "receivers", ()) if r.secret_env]
    for source in getattr(catalog, "sources", ()):
        names += source.env_names()
    return names


def unknown_variables(environ: Mapping[str, str], catalog: Any = None) -> list[str]:
    """One warning per TRACKER_* variable that nothing reads, with the nearest known name."""
    known = setting_names() + catalog_names(catalog)
    upper = {name.upper() for name in known}
    return [_warning(name, known) for name in sorted(environ) if _unknown(name, upper)]


def _unknown(name: str, known: Iterable[str]) -> bool:
    # pydantic-settings matches names case-insensitively; so does this check
    upper = name.upper()
    return upper.startswith(PREFIX) and not upper.startswith(_RESERVED) and upper not in known


def _warning(name: str, known: list[str]) -> str:
    # compared without the prefix they all share, which would make any two names look alike
    tails = {known_name.upper().removeprefix(PREFIX): known_name for known_name in known}
    close = difflib.get_close_matches(name.upper().removeprefix(PREFIX), tails, n=1, cutoff=0.6)
    hint = f" (did you mean {tails[close[0]]}?)" if close else ""
    return f"{name} is not a setting and is ignored{hint}"
