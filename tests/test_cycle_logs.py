"""What a cycle logs of its alerts' changes: a line each for the first hundred, then one line
of counts, so a first cycle at scale does not run past journald's burst (10,000 lines per
30 s of a service by default) and lose the lines after it."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from tracker.alerting.cycle import LOGGED_ONE_BY_ONE, log_changes


def _said(n: int, *, resolved_every: int = 0) -> list[dict]:
    return [{"event": "alert resolved" if resolved_every and k % resolved_every == 0 else "alert firing",
             "alert": "at-risk" if k % 2 else "stale-metric", "subject": f"goal:g{k:05d}",
             "reason": "condition holds (no for)", "severity": "warning", "previous": "inactive"}
            for k in range(n)]


# (changes, resolved every k-th, lines one by one, the line of counts or None)
CASES = [
    (0, 0, 0, None),
    (1, 0, 1, None),
    (LOGGED_ONE_BY_ONE, 0, LOGGED_ONE_BY_ONE, None),
    (LOGGED_ONE_BY_ONE + 1, 0, LOGGED_ONE_BY_ONE, {"count": 1, "firing": 1, "resolved": 0, "rules": {"stale-metric": 1}}),
    (13_624, 3, LOGGED_ONE_BY_ONE,
     {"count": 13_524, "firing": 9_016, "resolved": 4_508, "rules": {"at-risk": 6_762, "stale-metric": 6_762}}),
]


@pytest.mark.parametrize(("n", "every", "one_by_one", "counts"), CASES)
def test_a_cycle_logs_a_line_per_change_up_to_a_hundred_then_their_counts(n, every, one_by_one, counts) -> None:
    said = _said(n, resolved_every=every)
    with capture_logs() as logs:
        log_changes(said)
    lines = [e for e in logs if e["event"] != "more alert changes"]
    assert [{k: v for k, v in e.items() if k != "log_level"} for e in lines] == said[:one_by_one]
    more = [e for e in logs if e["event"] == "more alert changes"]
    if counts is None:
        assert more == []
    else:
        (line,) = more
        assert {k: line[k] for k in counts} == counts and line["log_level"] == "info"
