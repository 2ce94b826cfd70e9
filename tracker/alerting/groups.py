"""Alerts into groups: each alert goes down the plan's routes; each route puts it in the
group named by its `group_by` labels (tracker.core.grouping). Alertmanager's dispatcher
does the same with its aggregation groups; here a group is recomputed from the alert rows
whenever it is needed, and only what a receiver was told is stored (alert_groups)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tracker.catalog.routing import Plan, Route
from tracker.core.grouping import group_id, group_key, group_labels
from tracker.store.alert_tables import AlertRow


@dataclass
class Group:
    receiver: str
    route: Route
    key: str
    labels: dict[str, str]
    alerts: dict[str, AlertRow] = field(default_factory=dict)  # by fingerprint, every state

    @property
    def id(self) -> str:
        return group_id(self.receiver, self.key)


def collect(rows: Iterable[AlertRow], plan: Plan) -> dict[tuple[str, str], Group]:
    """The groups of every alert row, by (receiver, group key)."""
    groups: dict[tuple[str, str], Group] = {}
    for row in rows:
        for route in plan.routes_for(row.labels, row.severity):
            labels = group_labels(route.group_by, row.labels)
            key = group_key(route.key, labels)
            group = groups.setdefault((route.receiver, key), Group(route.receiver, route, key, labels))
            group.alerts[row.fingerprint] = row
    return groups
