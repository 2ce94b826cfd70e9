"""Muting as in Alertmanager, as pure functions: inhibition (a firing cause mutes its
consequences) and silences (matchers until a time). Both return the named reason.

An inhibit rule mutes a firing *target* alert (matching `target_match`) while some other
firing *source* alert (matching `source_match`) has the same values of the `equal` labels
(absent on both counts as equal, as in Alertmanager). An inhibited alert still moves
through its lifecycle; it is only not sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from tracker.core.goals import Strict
from tracker.core.matchers import Matchers, matches_all, parse_all


class InhibitRule(Strict):
    source_match: Matchers = Field(description="matchers of the alert that causes")
    target_match: Matchers = Field(description="matchers of the alerts it mutes")
    equal: tuple[str, ...] = Field((), description="labels that must have the same value on both")


def default_inhibit_rules() -> list[InhibitRule]:
    """What ships: a missed goal mutes its off-track, at-risk and stale-metric alerts; an
    off-track one its at-risk alert; a failing collector source the stale-metric alerts of
    the metric it feeds (`metric` names it on both)."""
    def rule(source: str, target: str, equal: str) -> InhibitRule:
        return InhibitRule(source_match=parse_all([source]), target_match=parse_all([target]), equal=(equal,))

    return [
        rule('alertname="missed"', 'alertname=~"off-track|at-risk|stale-metric"', "goal"),
        rule('alertname="off-track"', 'alertname="at-risk"', "goal"),
        rule('alertname="source-failing"', 'alertname="stale-metric"', "metric"),
    ]


@dataclass(frozen=True)
class Firing:
    """A firing alert as inhibition sees it."""

    fingerprint: str
    labels: Mapping[str, str]
    name: str = ""  # how reasons name it: "missed goal:ev-deliveries-2026"


def inhibited(alerts: Sequence[Firing], rules: Sequence[InhibitRule]) -> dict[str, str]:
    """The firing alerts some other firing alert inhibits, each with the reason."""
    found: dict[str, str] = {}
    for rule in rules:
        # The sources by their `equal` values, in order: a target looks its own up (a pass
        # over every source per target would be quadratic in the firing alerts).
        sources: dict[tuple[str, ...], list[Firing]] = {}
        for a in alerts:
            if matches_all(rule.source_match, a.labels):
                sources.setdefault(_values(rule, a), []).append(a)
        if not sources:
            continue
        for target in alerts:
            if target.fingerprint in found or not matches_all(rule.target_match, target.labels):
                continue
            same = sources.get(_values(rule, target), ())
            cause = next((s for s in same if s.fingerprint != target.fingerprint), None)
            if cause is not None:
                found[target.fingerprint] = f"inhibited by {cause.name or cause.fingerprint}"
    return found


def _values(rule: InhibitRule, alert: Firing) -> tuple[str, ...]:
    """The alert's values of the rule's `equal` labels (absent: empty, as in Alertmanager)."""
    return tuple(alert.labels.get(name, "") for name in rule.equal)


@dataclass(frozen=True)
class SilenceRule:
    """A silence as matching sees it."""

    id: str
    matchers: Matchers
    ends_at: datetime
    starts_at: datetime | None = None


def silenced_by(silences: Sequence[SilenceRule], labels: Mapping[str, str], now: datetime) -> SilenceRule | None:
    """The active silence that mutes an alert with these labels (the one ending last), if any."""
    hits = [s for s in silences if (s.starts_at is None or s.starts_at <= now) and now < s.ends_at
            and matches_all(s.matchers, labels)]
    return max(hits, key=lambda s: s.ends_at, default=None)
