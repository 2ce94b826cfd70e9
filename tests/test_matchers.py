"""Label matchers, as in Alertmanager: the four operators, anchored regular expressions, an
absent label read as empty, the string and table forms, and RE2's limits."""

from __future__ import annotations

import pytest

from tracker.core.matchers import matches_all, parse, parse_all, render

LABELS = {"business": "ev", "severity": "critical", "goal": "ev-deliveries-2026"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ('business="ev"', True),
        ('business="e"', False),
        ('business!="phone"', True),
        ('business!="ev"', False),
        ('severity=~"critical|warning"', True),
        ('severity=~"crit"', False),  # anchored: the whole value must match
        ('severity=~"crit.*"', True),
        ('severity!~"critical|warning"', False),
        ('severity!~"info"', True),
        ('goal=~".+"', True),
        ('team=""', True),  # an absent label is the empty string
        ('team!="ops"', True),
        ('team=~".+"', False),
        ('team!~".+"', True),
        ("business=ev", True),  # unquoted values, as amtool takes them
        ('  business = "ev"  ', True),
        ('goal=~"ev-.*-2026"', True),
        ('business="\\u0065v"', True),  # JSON escapes inside quotes
    ],
)
def test_each_operator(text: str, expected: bool) -> None:
    assert parse(text).matches(LABELS) is expected


@pytest.mark.parametrize(
    "text, message",
    [
        ('business~"ev"', "is not a matcher"),
        ('="ev"', "is not a matcher"),
        ('business="ev', "not closed"),
        ('business=e"v', "unbalanced quotes"),
        ('business=~"("', "bad regular expression"),
        ('business=~"(?=e)v"', "not RE2"),
        ('business=~"(e)\\\\1"', "not RE2"),
        ('business=~"(?<!x)ev"', "not RE2"),
        ('business=~"e++"', "not RE2"),
    ],
)
def test_bad_matchers_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse(text)


def test_table_form_is_equality_and_string_form_round_trips() -> None:
    table = parse_all({"business": "ev", "severity": "critical"})
    strings = parse_all(['business="ev"', 'severity="critical"'])
    assert table == strings and matches_all(table, LABELS)
    assert render(parse_all(['business=~"ev|phone"', 'goal!=""'])) == '{business=~"ev|phone",goal!=""}'
    assert parse_all([]) == () and matches_all((), {})
