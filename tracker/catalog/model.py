"""The goal catalog: a TOML file read into validated models.

Every error names the file, the entry (goal id, metric name, rule or receiver) and the field,
so that `tracker check-config` points at what to fix.
"""

from __future__ import annotations

import os
import tomli
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PrivateAttr, ValidationError,
                      model_validator)

from tracker.catalog.routing import INHERITED, Plan, Receiver, RootRoute, Route, plan
from tracker.catalog.schedule import evaluation_interval
from tracker.catalog.settings import Settings
from tracker.catalog.sources import SourceConfig
from tracker.core.errors import ConfigError
from tracker.core.goals import Bands, Goal, Kind, Metric, definition_digest
from tracker.core.heap import collector_paused
from tracker.core.inhibition import InhibitRule, default_inhibit_rules
from tracker.core.rules import Rule, defaults


def _to_zone(value: object) -> object:
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)") from None
    return value


Zone = Annotated[ZoneInfo, BeforeValidator(_to_zone), PlainSerializer(str, return_type=str)]


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    timezone: Zone = ZoneInfo("Asia/Shanghai")
    bands: Bands = Bands()
    metrics: dict[str, Metric]
    goals: tuple[Goal, ...]
    rules: tuple[Rule, ...] = ()
    receivers: tuple[Receiver, ...] = ()
    route: RootRoute = RootRoute()
    routes: tuple[Route, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] | None = None  # None: the shipped defaults
    sources: tuple[SourceConfig, ...] = ()
    path: Path = Field(Path("<memory>"), exclude=True)
    _definitions: dict[str, bytes] = PrivateAttr(default_factory=dict)  # by goal id: definition()'s

    @model_validator(mode="before")
    @classmethod
    def _name_metrics(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("metrics"), dict):
            data["metrics"] = {
                name: {**body, "name": name} if isinstance(body, dict) else body
                for name, body in data["metrics"].items()
            }
        return _inherit_grouping(data)

    @model_validator(mode="after")
    def _cross_checks(self) -> Catalog:
        _check_goals(self)
        _check_alerting(self)
        _check_sources(self)
        return self

    def goal(self, goal_id: str) -> Goal:
        for goal in self.goals:
            if goal.id == goal_id:
                return goal
        raise KeyError(goal_id)

    def effective_rules(self) -> list[Rule]:
        """The default rules, each replaced by a catalog rule of the same name, then the rest."""
        own = {rule.name: rule for rule in self.rules}
        merged = [own.pop(rule.name, rule) for rule in defaults()]
        return merged + list(own.values())

    def effective_inhibit_rules(self) -> list[InhibitRule]:
        """The catalog's [[inhibit_rules]], or the shipped ones when it has none
        (`inhibit_rules = []` turns inhibition off)."""
        return default_inhibit_rules() if self.inhibit_rules is None else list(self.inhibit_rules)

    def bands_for(self, goal: Goal) -> Bands:
        return goal.bands or self.bands

    def definition(self, goal: Goal) -> bytes:
        """The digest of what the goal's verdict reads of this catalog (stored verdicts are
        kept under it), worked out once per goal; a cached catalog carries them all
        (tracker.catalog.cache): 40 us a goal, 0.4 s of `status --json` at 10,000 goals."""
        found = self._definitions.get(goal.id)
        if found is None:
            found = self._definitions[goal.id] = definition_digest(goal, self)
        return found


def _inherit_grouping(data: Any) -> Any:
    """Each [[routes]] entry takes the grouping it does not set from [route], as
    Alertmanager's child routes do from their parent."""
    if not isinstance(data, dict) or not isinstance(data.get("route"), dict) or not isinstance(data.get("routes"), list):
        return data
    root = {k: v for k, v in data["route"].items() if k in INHERITED}
    data["routes"] = [{**root, **entry} if isinstance(entry, dict) else entry for entry in data["routes"]]
    return data


def _check_goals(catalog: Catalog) -> None:
    seen: set[str] = set()
    for goal in catalog.goals:
        if goal.id in seen:
            raise ValueError(f"goal {goal.id}: id is used twice")
        seen.add(goal.id)
        for name in goal.metrics:
            if name not in catalog.metrics:
                raise ValueError(f"goal {goal.id}: metric {name!r} is not in [metrics]")
        if goal.is_ratio:
            num, den = catalog.metrics[goal.numerator], catalog.metrics[goal.denominator]
            if num.granularity != den.granularity:
                raise ValueError(f"goal {goal.id}: numerator and denominator differ in granularity")
        if goal.kind is Kind.MILESTONE and goal.period and not goal.period.start <= goal.deadline:
            raise ValueError(f"goal {goal.id}: deadline is before the period starts")


def _check_alerting(catalog: Catalog) -> None:
    receivers = {r.name for r in catalog.receivers}
    if len(receivers) != len(catalog.receivers):
        raise ValueError("receivers: a name is used twice")
    for index, route in enumerate(catalog.routes):
        if route.receiver not in receivers:
            raise ValueError(f"routes[{index}]: receiver {route.receiver!r} is not in [[receivers]]")
    names = [r.name for r in catalog.rules]
    if len(set(names)) != len(names):
        raise ValueError("rules: a name is used twice")


def _check_sources(catalog: Catalog) -> None:
    names = [s.name for s in catalog.sources]
    if len(set(names)) != len(names):
        raise ValueError("sources: a name is used twice")
    for source in catalog.sources:
        if source.metric and source.metric not in catalog.metrics:
            raise ValueError(f"source {source.name}: metric {source.metric!r} is not in [metrics]")


def load_catalog(path: Path) -> Catalog:
    """Reads and validates the catalog; every problem is a one-line ConfigError."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"catalog {path}: file not found (set TRACKER_CONFIG to its path)") from None
    except IsADirectoryError:
        raise ConfigError(f"catalog {path}: is a directory (set TRACKER_CONFIG to the TOML file)") from None
    except OSError as error:
        raise ConfigError(f"catalog {path}: cannot be read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"catalog {path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} on line {line}); "
            "save it as UTF-8"
        ) from None
    try:
        with collector_paused():  # the parsed tables hold no cycles either
            data = tomli.loads(text)  # tomllib's own code, compiled: 2.5-3x faster on a large catalog
    except tomli.TOMLDecodeError as error:
        raise ConfigError(f"catalog {path}: not valid TOML: {error}") from None
    return parse_catalog(data, path)


def parse_catalog(data: dict[str, Any], path: Path = Path("<memory>")) -> Catalog:
    # The cyclic collector would rescan the growing heap of new model objects again and
    # again (superlinear in goals: 4 s of 100,000 goals' load); none of them is garbage.
    try:
        with collector_paused():
            return Catalog.model_validate({**data, "path": path})
    except ValidationError as error:
        raise ConfigError(f"catalog {path}: {describe(error, data)}") from None


def describe(error: ValidationError, data: dict[str, Any]) -> str:
    """The first validation error as `goal ev-deliveries-2026, field target: reason`."""
    first = error.errors()[0]
    loc = list(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    where = _where(loc, data)
    return f"{where}: {message}" if where else message


def _where(loc: list[Any], data: dict[str, Any]) -> str:
    if not loc:
        return ""
    section, rest = loc[0], loc[1:]
    if section == "goals" and rest and isinstance(rest[0], int):
        goal = _nth(data.get("goals"), rest[0])
        name = goal.get("id", f"#{rest[0] + 1}") if isinstance(goal, dict) else f"#{rest[0] + 1}"
        return _with_field(f"goal {name}", rest[1:])
    if section == "metrics" and rest:
        return _with_field(f"metric {rest[0]}", rest[1:])
    if section in ("rules", "receivers", "routes", "sources", "inhibit_rules") and rest and isinstance(rest[0], int):
        entry = _nth(data.get(section), rest[0])
        name = entry.get("name", entry.get("receiver")) if isinstance(entry, dict) else None
        label = f"{section[:-1]} {name}" if name and section != "inhibit_rules" else f"{section}[{rest[0]}]"
        return _with_field(label, rest[1:])
    return _with_field("", loc)


def _with_field(label: str, rest: list[Any]) -> str:
    fields = ".".join(str(p).rstrip("_") for p in rest if not _is_kind_tag(p))
    if not fields:
        return label
    return f"{label}, field {fields}" if label else f"field {fields}"


def _is_kind_tag(part: Any) -> bool:
    # pydantic puts union member names such as "decimal" or "function-after[...]" in the path
    return isinstance(part, str) and (part in ("decimal", "literal['previous_period']") or "[" in part)


def _nth(items: Any, index: int) -> Any:
    return items[index] if isinstance(items, list) and 0 <= index < len(items) else None


def plan_for(catalog: Catalog, settings: Settings) -> Plan:
    """The plan in effect for a process: its catalog, settings and environment."""
    made = plan(catalog.receivers, catalog.routes, settings, os.environ, catalog.route)
    base = (settings.external_url or f"http://{settings.http_host}:{settings.http_port}").rstrip("/")
    if not any(target.format == "alertmanager_api" for target in made.targets.values()):
        return replace(made, external_url=base)
    # As Prometheus does: a pushed alert ends four evaluation intervals on unless re-sent.
    ttl = 4 * evaluation_interval(settings, catalog.timezone)
    return replace(made, alert_ttl=ttl, external_url=base)
