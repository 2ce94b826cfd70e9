"""What a catalog's unit-test file says, once read and checked (tracker.catalog.testfile):
the inputs and events the runner replays, and the expectations of each test. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tracker.catalog.model import Catalog
from tracker.core.errors import BadInput
from tracker.core.matchers import Matcher


class TestFileError(BadInput):
    """A malformed test file: the message starts with `FILE:LINE:`."""

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class InputSpec:
    line: int
    metric: str
    period: str
    value: str
    known_since: datetime  # when the runner records it
    explicit_known_since: bool = False
    force: bool = False
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class SilenceSpec:
    line: int
    matchers: tuple[Matcher, ...]
    starts: datetime
    ends: datetime
    comment: str | None = None


@dataclass(frozen=True)
class CollectionSpec:
    line: int
    source: str
    at: datetime
    outcome: str
    error: str | None = None


@dataclass(frozen=True)
class FieldCheck:
    name: str
    check: Any  # a tracker.core.expectations check: holds(actual), str()
    line: int


@dataclass(frozen=True)
class GoalExpectation:
    line: int
    goal: str
    fields: tuple[FieldCheck, ...]


@dataclass(frozen=True)
class AlertExpectation:
    line: int
    rule: str
    matchers: tuple[Matcher, ...]
    state: str
    state_line: int = 0


@dataclass(frozen=True)
class NotificationExpectation:
    line: int
    receiver: str
    group: dict[str, str] | None = None
    event: str | None = None
    format: str | None = None
    count: int | None = None  # None: at least one
    format_line: int = 0
    count_line: int = 0


@dataclass(frozen=True)
class Case:
    line: int
    name: str
    at: datetime
    goals: tuple[GoalExpectation, ...] = ()
    alerts: tuple[AlertExpectation, ...] = ()
    notifications: tuple[NotificationExpectation, ...] = ()
    named: bool = False  # the file gave a name (else it is "at TIME")


@dataclass(frozen=True)
class TestFile:
    __test__ = False  # not a pytest class

    path: Path
    catalog: Catalog
    start: datetime
    interval: timedelta
    webhook_url: str | None
    inputs: tuple[InputSpec, ...]
    silences: tuple[SilenceSpec, ...]
    collections: tuple[CollectionSpec, ...]
    cases: tuple[Case, ...]

    def where(self, line: int) -> str:
        return f"{self.path}:{line}"
