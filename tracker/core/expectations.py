"""What a catalog's unit test (`tracker test`) expects, as pure checks of observed values.

A numeric field is expected as a number (equal), a comparison (`>= 0.8`, `< 3`, `!= 0`),
a value with a tolerance (`531000 +- 1%`, `531000 +- 5000`), or `null` (no value: the
field does not apply). Statuses are one value or a list of them; flags are booleans; lists
(`missing_periods`) must be equal. An alert's expected state is `firing`, `pending`,
`inhibited`, `silenced` or `absent`. Values are compared as `tracker status --json`
prints them, so a test reads what a user sees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tracker.core.verdict import Status

_COMPARISON = re.compile(r"^\s*(==|=|!=|<=|>=|<|>)\s*(\S+)\s*$")
_TOLERANCE = re.compile(r"^\s*(\S+)\s*(?:\+-|±|\+/-)\s*(\S+?)\s*(%?)\s*$")
_RELATIONS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}

ALERT_STATES = ("firing", "pending", "inhibited", "silenced", "absent")


def _number(text: str, raw: str) -> Decimal:
    try:
        value = Decimal(text.replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number, a comparison (>= 0.8) or a tolerance (531000 +- 1%)") from None
    if not value.is_finite():
        raise ValueError(f"{raw!r}: NaN and infinities cannot be expected")
    return value


def decimal_of(value: Any) -> Decimal | None:
    """A JSON number as an exact decimal (floats by their shortest repr, as printed)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    return None


def show(value: Any) -> str:
    """A value as a failure message prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, str):
        return value
    return str(value)


@dataclass(frozen=True)
class NumberCheck:
    """A numeric expectation. `op` is a relation, or `+-` for a value with a tolerance;
    `value` None expects no value (`null`)."""

    op: str
    value: Decimal | None
    tolerance: Decimal = Decimal(0)
    relative: bool = False

    def holds(self, actual: Any) -> bool:
        number = decimal_of(actual)
        if self.value is None:
            return actual is None
        if number is None:
            return False
        if self.op == "+-":
            allowed = abs(self.value) * self.tolerance / 100 if self.relative else self.tolerance
            return abs(number - self.value) <= allowed
        return bool(_RELATIONS[self.op](number, self.value))

    def __str__(self) -> str:
        if self.value is None:
            return "null"
        if self.op == "+-":
            return f"{self.value} +- {self.tolerance}{'%' if self.relative else ''}"
        return str(self.value) if self.op == "==" else f"{self.op} {self.value}"


def number_check(raw: Any) -> NumberCheck:
    """Reads a numeric expectation; ValueError says what forms are accepted."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise TypeError(f"{show(raw)!r} is not a number, a comparison (>= 0.8) or a tolerance (531000 +- 1%)")
    if not isinstance(raw, str):
        return NumberCheck("==", _number(str(raw), str(raw)))
    if raw.strip() == "null":
        return NumberCheck("==", None)
    found = _TOLERANCE.match(raw)
    if found:
        value, tolerance = _number(found.group(1), raw), _number(found.group(2), raw)
        if tolerance < 0:
            raise ValueError(f"{raw!r}: a tolerance cannot be negative")
        return NumberCheck("+-", value, tolerance, relative=found.group(3) == "%")
    found = _COMPARISON.match(raw)
    if found:
        op = "==" if found.group(1) == "=" else found.group(1)
        return NumberCheck(op, _number(found.group(2), raw))
    return NumberCheck("==", _number(raw.strip(), raw))


@dataclass(frozen=True)
class OneOf:
    """A status (or any text) that must be one of `allowed`."""

    allowed: tuple[str, ...]

    def holds(self, actual: Any) -> bool:
        return actual in self.allowed

    def __str__(self) -> str:
        return self.allowed[0] if len(self.allowed) == 1 else "one of " + ", ".join(self.allowed)


def status_check(raw: Any) -> OneOf:
    values = [raw] if isinstance(raw, str) else raw
    known = [s.value for s in Status]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ValueError("status is one status or a list of them: " + ", ".join(known))
    for value in values:
        if value not in known:
            raise ValueError(f"{value!r} is not a status ({', '.join(known)})")
    return OneOf(tuple(values))


@dataclass(frozen=True)
class Equals:
    """A flag, a list or a text that must be equal."""

    value: Any

    def holds(self, actual: Any) -> bool:
        if isinstance(self.value, tuple):
            return isinstance(actual, (list, tuple)) and tuple(actual) == self.value
        return actual == self.value and type(actual) is type(self.value)

    def __str__(self) -> str:
        return show(self.value)


def flag_check(raw: Any) -> Equals:
    if not isinstance(raw, bool):
        raise TypeError(f"{show(raw)!r} is not true or false")
    return Equals(raw)


def list_check(raw: Any) -> Equals:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ValueError("expected a list of strings, such as [\"2026-06\"]")
    return Equals(tuple(raw))


def text_check(raw: Any) -> Equals:
    if not isinstance(raw, str):
        raise TypeError(f"{show(raw)!r} is not a string")
    return Equals(raw)


@dataclass(frozen=True)
class AlertSeen:
    """One pending or firing alert as `tracker alerts` lists it: state and why it is muted."""

    state: str
    muted: str | None = None

    def __str__(self) -> str:
        return f"{self.state} ({self.muted})" if self.muted else self.state


def alert_state_holds(expected: str, seen: Sequence[AlertSeen]) -> bool:
    """Whether the alerts that match a test's rule and labels are in the expected state:
    `absent` when none is pending or firing; `firing` when one fires, muted or not;
    `inhibited`/`silenced` when one fires and is muted for that reason."""
    if expected == "absent":
        return not seen
    if expected == "pending":
        return any(a.state == "pending" for a in seen)
    firing = [a for a in seen if a.state == "firing"]
    if expected == "firing":
        return bool(firing)
    return any(a.muted is not None and a.muted.startswith(expected) for a in firing)


def describe_alerts(seen: Sequence[AlertSeen]) -> str:
    return "absent" if not seen else ", ".join(str(a) for a in seen)
