"""Which alerts hold, and why: pure functions of evaluations (or source health) and rules.

An alert's subject is what it is about: a goal (`goal:<id>`) or a collector source
(`source:<name>`). A rule applies to a subject when its `match` matchers all match the
subject's labels (`goal` is the goal id, `source` the source name; tracker.core.matchers).
A goal's `severity` caps the severity of its alerts, so an informational goal never pages
anyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

from pydantic import Field

from tracker.core.durations import Duration
from tracker.core.goals import Severity, Strict
from tracker.core.matchers import Matchers, matches_all
from tracker.core.verdict import Evaluation, Status

Condition = Literal["off_track", "at_risk", "stale", "missed", "deadline_near", "source_failing"]


class Rule(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    condition: Condition
    severity: Severity
    for_: Duration = Field(timedelta(0), alias="for")
    keep_firing_for: Duration = timedelta(0)
    match: Matchers = Field((), description="matchers of goal labels (and `goal` for the id) it applies to")
    enabled: bool = True


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


_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Match:
    """A rule that holds for a subject now, with the reason it holds."""

    subject: str
    rule: str
    condition: str
    severity: str
    labels: dict[str, str]
    summary: str
    why: str
    title: str = ""
    evaluation: dict = field(default_factory=dict)

    @cached_property
    def fingerprint(self) -> str:  # a digest, asked for several times a cycle per alert
        return fingerprint(self.subject, self.rule)


@dataclass(frozen=True)
class SourceHealth:
    """What the collectors know of one source: failures in a row and the newest error."""

    name: str
    consecutive_failures: int
    threshold: int  # the source's failures_before_alert
    last_error: str | None = None
    since: datetime | None = None  # when the first failure of this streak happened
    metric: str | None = None  # the metric the source feeds, when it names one

    @property
    def alerting(self) -> bool:
        """The streak has reached the threshold: time for a source_failing alert."""
        return self.consecutive_failures >= self.threshold


def fingerprint(subject: str, rule: str) -> str:
    """Stable id of an alert: the same subject and rule are the same alert across cycles."""
    return hashlib.sha256(f"{subject}\x00{rule}".encode()).hexdigest()[:16]


def goal_subject(goal_id: str) -> str:
    return f"goal:{goal_id}"


def source_subject(name: str) -> str:
    return f"source:{name}"


def cap_severity(severity: str, cap: str | None) -> str:
    """The lower of a rule's severity and a goal's cap (no cap: the rule's)."""
    if cap is None:
        return severity
    return severity if _RANK[severity] <= _RANK[cap] else cap


def applies(rule: Rule, labels: dict[str, str]) -> bool:
    return rule.enabled and matches_all(rule.match, labels)


def why_holds(condition: str, evaluation: Evaluation) -> str | None:
    """The named reason a goal condition holds, or None when it does not."""
    status = evaluation.status
    if condition == "off_track" and status is Status.OFF_TRACK:
        return "status is off_track"
    if condition == "at_risk" and status is Status.AT_RISK:
        return "status is at_risk"
    if condition == "missed" and status is Status.MISSED:
        return "period closed with the target missed"
    if condition == "stale" and evaluation.stale:
        names = ", ".join(evaluation.stale_metrics) or "a metric"
        return f"no actual on time for {names}"
    if condition == "deadline_near" and evaluation.deadline_near and status not in (Status.ACHIEVED, Status.MISSED):
        return "deadline is near"
    return None


def goal_matches(
    evaluations: Iterable[Evaluation], rules: Sequence[Rule], caps: dict[str, str | None] | None = None
) -> list[Match]:
    """Every rule that holds for every evaluated goal. `caps` maps goal id -> Goal.severity."""
    caps = caps or {}
    found = []
    for evaluation in evaluations:
        labels = {**evaluation.labels, "goal": evaluation.goal}
        as_json = None  # one status object for all of the goal's matches (it is never changed)
        for rule in rules:
            if rule.condition == "source_failing" or not applies(rule, labels):
                continue
            why = why_holds(rule.condition, evaluation)
            if why is not None:
                as_json = as_json if as_json is not None else evaluation.json_view()
                found.append(_goal_match(evaluation, rule, labels, why, caps.get(evaluation.goal), as_json))
    return found


def _goal_match(evaluation: Evaluation, rule: Rule, labels: dict[str, str], why: str, cap: str | None,
                as_json: dict) -> Match:
    severity = cap_severity(rule.severity, cap)
    stale = rule.condition == "stale" and evaluation.stale_metrics
    extra = {"metric": ",".join(evaluation.stale_metrics)} if stale else {}
    return Match(
        subject=goal_subject(evaluation.goal),
        rule=rule.name,
        condition=rule.condition,
        severity=severity,
        # `metric` on stale-metric alerts: what a failing source's alert is inhibited by
        labels={**labels, **extra, "alertname": rule.name, "severity": severity},
        summary=goal_summary(evaluation, rule.condition),
        why=why,
        title=evaluation.title,
        evaluation=as_json,
    )


def goal_summary(evaluation: Evaluation, condition: str) -> str:
    """One line a person can act on; the evaluator's summary carries the numbers."""
    detail = (evaluation.summary or _fallback(evaluation)).removeprefix(f"{evaluation.title}: ")
    if condition == "stale":
        late = ", ".join(evaluation.stale_metrics) or "its data"
        # No data_through means nothing in the judged window (a recurring goal's new instance,
        # say), not nothing recorded: the evaluator's text names the periods that are missing.
        through = f" (data through {evaluation.data_through})" if evaluation.data_through else ""
        return f"{evaluation.title}: {late} is late{through}; {detail}"
    return f"{evaluation.title}: {detail}"


def _fallback(evaluation: Evaluation) -> str:
    parts = [str(evaluation.status).replace("_", " ")]
    if evaluation.projected is not None and evaluation.target is not None:
        share = f" ({evaluation.projected_attainment:.0%})" if evaluation.projected_attainment is not None else ""
        parts.append(f"projected {evaluation.projected:,} of {evaluation.target:,}{share}")
    if evaluation.required_rate is not None and evaluation.rate_unit:
        parts.append(f"needs {evaluation.required_rate:,} a {evaluation.rate_unit} for the rest of the period")
    return "; ".join(parts)


def source_matches(records: Iterable[SourceHealth], rules: Sequence[Rule]) -> list[Match]:
    """`source_failing` alerts for sources that failed at least their threshold in a row."""
    found = []
    for record in records:
        if not record.alerting:
            continue
        labels = {"source": record.name, **({"metric": record.metric} if record.metric else {})}
        for rule in rules:
            if rule.condition != "source_failing" or not applies(rule, labels):
                continue
            since = f" since {record.since.isoformat()}" if record.since else ""
            found.append(
                Match(
                    subject=source_subject(record.name),
                    rule=rule.name,
                    condition=rule.condition,
                    severity=rule.severity,
                    labels={**labels, "alertname": rule.name, "severity": rule.severity},
                    summary=f"source {record.name} failed {record.consecutive_failures} times in a row{since}: "
                    f"{record.last_error or 'no error text'}",
                    why=f"{record.consecutive_failures} failures in a row (threshold {record.threshold})",
                    title=f"source {record.name}",
                )
            )
    return found
