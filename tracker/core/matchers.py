"""Label matchers as in Alertmanager: `name="value"`, `name!="value"`, `name=~"regex"`,
`name!~"regex"`.

Regular expressions are anchored (the whole value must match, Python's `fullmatch`) and
limited to what RE2, Alertmanager's engine, also accepts: no backreferences and no
lookaround, so a matcher means the same here and in an Alertmanager. A label that is absent
matches as the empty string, as in Alertmanager (`team!="ops"` matches an alert without
`team`). The catalog takes Alertmanager's string form (`['business="ev"']`) and the table
form of equality matchers (`{ business = "ev" }`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

EQUAL, NOT_EQUAL, REGEX, NOT_REGEX = "=", "!=", "=~", "!~"
_FORM = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.DOTALL)
# Constructs Python accepts and RE2 refuses: lookaround, backreferences, atomic groups,
# possessive quantifiers, conditionals.
_NOT_RE2 = re.compile(r"\(\?(?:=|!|<=|<!|>|P=|\()|\\[1-9]|\\g<|[*+?}]\+")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == EQUAL:
            return actual == self.value
        if self.op == NOT_EQUAL:
            return actual != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(actual) is not None
        return found if self.op == REGEX else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{json.dumps(self.value, ensure_ascii=False)}"


def matcher(name: str, op: str, value: str) -> Matcher:
    """A matcher; a regular expression that is invalid or not RE2's raises ValueError."""
    if op not in (REGEX, NOT_REGEX):
        return Matcher(name, op, value)
    if _NOT_RE2.search(value):
        raise ValueError(f"{name}{op}{value!r}: lookaround, backreferences and possessive or atomic groups "
                         "are not RE2 regular expressions (Alertmanager's)")
    try:
        return Matcher(name, op, value, re.compile(value))
    except re.error as error:
        raise ValueError(f"{name}{op}{value!r}: bad regular expression ({error})") from None


def parse(text: str) -> Matcher:
    """One matcher in Alertmanager's string form; the value may be quoted (JSON escapes)."""
    found = _FORM.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a matcher (expected name=\"value\", with =, !=, =~ or !~)")
    name, op, raw = found.groups()
    return matcher(name, op, _unquote(raw, text))


def _unquote(raw: str, text: str) -> str:
    if not raw.startswith('"'):
        if '"' in raw:
            raise ValueError(f"{text!r}: unbalanced quotes in the value")
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f"{text!r}: the quoted value is not closed or has a bad escape") from None
    if not isinstance(value, str):
        raise ValueError(f"{text!r}: the value must be one quoted string")
    return value


def parse_all(items: Any) -> tuple[Matcher, ...]:
    """The catalog's two forms: a list of strings, or a table of equality matchers."""
    if isinstance(items, Mapping):
        return tuple(Matcher(str(k), EQUAL, str(v)) for k, v in items.items())
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise ValueError("matchers are a list of strings such as 'business=\"ev\"' or a table of labels")
    return tuple(item if isinstance(item, Matcher) else parse(_text(item)) for item in items)


def _text(item: Any) -> str:
    if not isinstance(item, str):
        raise ValueError(f"{item!r} is not a matcher string such as 'business=\"ev\"'")
    return item


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher matches (no matchers: everything matches)."""
    return all(m.matches(labels) for m in matchers)


def render(matchers: Iterable[Matcher]) -> str:
    """`{business="ev",severity=~"critical"}`, Alertmanager's way of writing a set."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


# The pydantic field type: either form in, the string form out.
Matchers = Annotated[
    tuple[Matcher, ...],
    BeforeValidator(parse_all),
    PlainSerializer(lambda ms: [str(m) for m in ms], return_type=list),
]
