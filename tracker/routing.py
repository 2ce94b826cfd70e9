"""What the catalog says about alerting: rules, receivers and routes.

Rules say which goal conditions become alerts; routes send alerts, matched on goal labels and
severity, to receivers. `defaults()` are the rules every catalog gets unless it overrides one
by name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from tracker.durations import Duration
from tracker.goals import Severity, Strict

Condition = Literal["off_track", "at_risk", "stale", "missed", "deadline_near", "source_failing"]
Format = Literal["native", "alertmanager", "slack", "alertmanager_api"]


class Rule(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    condition: Condition
    severity: Severity
    for_: Duration = Field(timedelta(0), alias="for")
    keep_firing_for: Duration = timedelta(0)
    match: dict[str, str] = Field({}, description="goal labels (and `goal` for the id) it applies to")
    enabled: bool = True


class Receiver(Strict):
    name: str
    url: str = Field(pattern=r"^https?://")
    format: Format = "native"
    secret_env: str | None = Field(None, description="environment variable holding the whsec_ secret")
    headers: dict[str, str] = {}


class Route(Strict):
    receiver: str
    match: dict[str, str] = {}
    severities: tuple[Severity, ...] = ("critical", "warning", "info")
    repeat_interval: Duration = timedelta(days=1)
    send_resolved: bool = True
    continue_: bool = Field(False, alias="continue")


def defaults() -> list[Rule]:
    """The rules every goal gets unless the catalog overrides one by name."""
    day = timedelta(days=1)
    return [
        Rule(name="off-track", condition="off_track", severity="critical", keep_firing_for=day),
        Rule(name="at-risk", condition="at_risk", severity="warning", keep_firing_for=day),
        Rule(name="stale-metric", condition="stale", severity="warning"),
        Rule(name="missed", condition="missed", severity="critical"),
        Rule(name="deadline-near", condition="deadline_near", severity="warning"),
        Rule(name="source-failing", condition="source_failing", severity="warning"),
    ]
