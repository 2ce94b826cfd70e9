"""What the catalog says about alerting: rules, receivers and routes.

Rules say which goal conditions become alerts; routes send alerts, matched on their labels
and severity, to receivers, in groups (`group_by`, timed by `group_wait`, `group_interval`
and `repeat_interval`, as in Alertmanager). `[route]`, the root route, holds the grouping
defaults of every route, the implicit ones included. `defaults()` are the rules every
catalog gets unless it overrides one by name. `plan()` adds the receivers the catalog does
not name: `default` (from TRACKER_WEBHOOK_URL, gets every alert) and, when there is no
receiver at all, `log` (notifications written to the log, so a first run shows them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from tracker.catalog.receivers import (  # noqa: F401 (re-exported: the catalog's receivers)
    DEFAULT_RECEIVER, LOG_RECEIVER, Format, Receiver, Ref, Target, check_target, target,
)
from tracker.catalog.settings import check_secret
from tracker.core.durations import Duration
from tracker.core.goals import Severity, Strict
from tracker.core.grouping import ALL_LABELS, Timing
from tracker.core.matchers import Matchers, matcher, matches_all, render

if TYPE_CHECKING:
    from tracker.catalog.settings import Settings

class RootRoute(Strict):
    """`[route]`: the grouping every route inherits unless it sets its own."""

    group_by: tuple[str, ...] = ("business",)
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = timedelta(days=1)

    @field_validator("group_by")
    @classmethod
    def _all_or_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if ALL_LABELS in value and len(value) > 1:
            raise ValueError(f'"{ALL_LABELS}" means every label and stands alone')
        return value


INHERITED = tuple(RootRoute.model_fields)


class Route(RootRoute):
    receiver: str
    match: Matchers = ()
    severities: tuple[Severity, ...] = ("critical", "warning", "info")
    send_resolved: bool = True
    continue_: bool = Field(False, alias="continue")

    @property
    def matchers(self) -> tuple:
        """`match`, plus the severities as a matcher when they are not all of them."""
        if set(self.severities) == {"critical", "warning", "info"}:
            return self.match
        return (*self.match, matcher("severity", "=~", "|".join(self.severities)))

    @property
    def key(self) -> str:
        """Alertmanager's route key: `{}` for a route that takes everything."""
        return "{}" if not self.matchers else "{}/" + render(self.matchers)

    def takes(self, labels: Mapping[str, str], severity: str) -> bool:
        return severity in self.severities and matches_all(self.match, labels)


@dataclass(frozen=True)
class Plan:
    targets: dict[str, Target]
    routes: tuple[Route, ...]
    # alertmanager_api: how long a pushed firing alert stays firing unless pushed again, and
    # the link back to this daemon (Alertmanager's externalURL and generatorURL)
    alert_ttl: timedelta = timedelta(hours=4)
    external_url: str = ""  # TRACKER_EXTERNAL_URL, else the daemon's own address

    def refreshes(self, receiver: str) -> bool:
        """Alertmanager's API forgets a firing alert at its endsAt: re-send it every cycle."""
        return self.targets[receiver].format == "alertmanager_api"

    def timing(self, route: Route) -> Timing:
        """The route's group timing; alertmanager_api pushes at once and again every cycle
        (Alertmanager groups and times by itself, and forgets an alert not pushed again)."""
        if self.refreshes(route.receiver):
            return Timing(timedelta(0), timedelta(0), self.alert_ttl / 4)
        return Timing(route.group_wait, route.group_interval, route.repeat_interval)

    def routes_for(self, labels: Mapping[str, str], severity: str) -> list[Route]:
        """The routes an alert goes down: in order, stopping at the first match unless it says
        `continue`."""
        chosen = []
        for route in self.routes:
            if route.takes(labels, severity):
                chosen.append(route)
                if not route.continue_:
                    break
        return chosen


def plan(
    receivers: tuple[Receiver, ...], routes: tuple[Route, ...], settings: Settings, environ: Mapping[str, str],
    root: RootRoute | None = None,
) -> Plan:
    """Receivers and routes in effect. Catalog receivers without any [[routes]] each get every
    alert; the TRACKER_WEBHOOK_URL receiver always gets every alert. Implicit routes group
    as `root` says."""
    grouping = (root or RootRoute()).model_dump()
    targets = {r.name: target(r) for r in receivers}
    for found in targets.values():
        check_target(found, environ, check_secret)
    effective = list(routes) or [Route(receiver=r.name, **grouping, **{"continue": True}) for r in receivers]
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        targets[DEFAULT_RECEIVER] = Target(DEFAULT_RECEIVER, Ref(settings.webhook_url, literal=True), "native", (),
                                           Ref(secret, literal=True) if secret else None)
        effective.insert(0, Route(receiver=DEFAULT_RECEIVER, **grouping, **{"continue": True}))
    if not targets:
        targets[LOG_RECEIVER] = Target(LOG_RECEIVER, None)
        effective = [Route(receiver=LOG_RECEIVER, **grouping)]
    return Plan(targets, tuple(effective))
