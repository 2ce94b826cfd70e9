"""What every format renders: one notification (a group of alerts for one receiver), and the
pieces several formats share (times, labels, annotations, Alertmanager's fingerprint, cutting
text to a service's limit)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert that has not ended
ELLIPSIS = "…"

# Alertmanager (prometheus/common model.LabelSet.Fingerprint): FNV-1a 64 over the sorted
# label names and values, each followed by the separator byte 0xff.
_FNV_OFFSET, _FNV_PRIME, _SEPARATOR = 14695981039346656037, 1099511628211, 0xFF


@dataclass(frozen=True)
class NoticeAlert:
    """One alert of a group notification, as every format needs it."""

    fingerprint: str
    rule: str
    severity: str
    subject: str
    title: str
    state: str  # firing or resolved
    reason: str
    summary: str
    labels: dict[str, str] = field(default_factory=dict)
    evaluation: Mapping[str, Any] = field(default_factory=dict)  # a dict, or a StoredObject
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def goal(self) -> str | None:
        return self.subject.removeprefix("goal:") if self.subject.startswith("goal:") else None


def held_object(evaluation: Any, held: datetime | None) -> Any:
    """A goal alert's status object as of the last cycle its condition held. The row keeps
    the object it was written with while its verdict is reused (the cycle does not rewrite
    an unchanged verdict), whose `evaluated_at` is when the verdict was judged; the
    notification says, as a fresh verdict would, the instant it last held (`last_held_at`)."""
    stamp = evaluation.get("evaluated_at") if isinstance(evaluation, dict) else None
    if not isinstance(stamp, str) or held is None:
        return evaluation
    judged = datetime.fromisoformat(stamp)
    if judged.tzinfo is None or judged == held:
        return evaluation
    return {**evaluation, "evaluated_at": held.astimezone(judged.tzinfo).isoformat()}


class StoredObject(Mapping[str, Any]):
    """A status object as its stored JSON text, decoded (and moved to when the alert last
    held, held_object) on each use and not kept: a group's first notification can carry every
    alert, and their decoded objects, all alive at once, were 60 MB of the 150 MB its cycle
    added at 10,000 goals (tracemalloc); the text is a third of that."""

    __slots__ = ("_text", "_held")

    def __init__(self, text: str, held: datetime | None) -> None:
        self._text, self._held = text, held

    def decoded(self) -> Any:
        return held_object(json.loads(self._text), self._held)

    def __getitem__(self, key: str) -> Any:
        return self.decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.decoded())

    def __len__(self) -> int:
        return len(self.decoded())

    def __repr__(self) -> str:
        return f"StoredObject({self.decoded()!r})"


def plain(evaluation: Any) -> Any:
    """The status object as JSON can write it."""
    return evaluation.decoded() if isinstance(evaluation, StoredObject) else evaluation


@dataclass(frozen=True)
class Notice:
    """One notification: a group of alerts (firing and resolved) for one receiver."""

    event: str  # alert.firing while any alert of the group fires, else alert.resolved
    timestamp: datetime
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    alerts: tuple[NoticeAlert, ...]
    reason: str = ""
    expires_at: datetime | None = None  # alertmanager_api: firing until then unless re-sent
    external_url: str = ""  # TRACKER_EXTERNAL_URL: the daemon's `/`, empty when unknown

    @property
    def status(self) -> str:
        return "resolved" if self.event == "alert.resolved" else "firing"

    @property
    def common_labels(self) -> dict[str, str]:
        return common([a.labels for a in self.alerts])

    def alert_url(self, alert: NoticeAlert) -> str:
        """Alertmanager's generatorURL: the goal's page of the API, else the daemon's `/`."""
        if not self.external_url:
            return ""
        base = self.external_url.rstrip("/")
        return f"{base}/api/goals/{alert.goal}" if alert.goal else base + "/"


def common(maps: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every map has (Alertmanager's commonLabels and commonAnnotations)."""
    if not maps:
        return {}
    first, rest = maps[0], maps[1:]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in rest)}


def utc_text(value: datetime | None) -> str | None:
    """`2026-07-05T00:00:00Z`: seconds precision, Z for UTC, as the contract shows."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode()


def am_labels(alert: NoticeAlert) -> dict[str, str]:
    """The labels Alertmanager sees, the same in its webhook body and in what we push."""
    return {"alertname": alert.rule, **alert.labels, "severity": alert.severity}


def annotations(alert: NoticeAlert) -> dict[str, str]:
    """`summary` is the alert's one line (it names the goal); `description` says the rest
    without naming the goal again."""
    rest = alert.summary.removeprefix(f"{alert.title}: ") if alert.title else alert.summary
    return {"summary": alert.summary, "description": f"{rest} (rule {alert.rule}, severity {alert.severity})"}


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set, as the 16 hex digits it shows."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            value = ((value ^ _SEPARATOR) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def cut(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def headline(notice: Notice) -> str:
    """`[FIRING:2] business=ev`: the group's state and name, as Alertmanager's titles read."""
    firing = sum(1 for a in notice.alerts if a.state == "firing")
    named = ", ".join(f"{k}={v}" for k, v in notice.group_labels.items()) or "all alerts"
    return f"[{notice.status.upper()}:{firing or len(notice.alerts)}] {named}"
